"""Draw the bundled Olist sample: every closed deal, its MQL, and seeded not-won MQLs.

Usage: python scripts/make_olist_sample.py SOURCE_DIR [--out DIR] [--size N] [--seed S]

SOURCE_DIR holds the two original Kaggle CSVs. Rows are written unchanged and in
their original order, so the same source, size and seed give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
from pathlib import Path

MQL_FILE = "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = "olist_closed_deals_dataset.csv"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "backend" / "data" / "olist"
DEFAULT_SIZE = 2000
DEFAULT_SEED = 20180531

Table = tuple[list[str], list[list[str]]]


def read_table(path: Path) -> Table:
    """The header and rows of a CSV, refusing files that would not round-trip byte for byte."""
    raw = path.read_text(encoding="utf-8")
    header, *rows = csv.reader(io.StringIO(raw, newline=""))
    if render_table((header, rows)) != raw:
        raise SystemExit(f"{path} would not be written back unchanged; refusing to sample it")
    return header, rows


def render_table(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table[0])
    writer.writerows(table[1])
    return out.getvalue()


def draw_mqls(mqls: Table, won_ids: set[str], size: int, seed: int) -> Table:
    """Keep every won MQL and a seeded draw of the others, in the source's row order."""
    header, rows = mqls
    key = header.index("mql_id")
    not_won = [row[key] for row in rows if row[key] not in won_ids]
    wanted = size - len(won_ids)
    if wanted < 0 or wanted > len(not_won):
        raise SystemExit(f"size {size} cannot hold {len(won_ids)} won and draw from {len(not_won)}")

    drawn = set(random.Random(seed).sample(not_won, wanted))
    keep = won_ids | drawn
    return header, [row for row in rows if row[key] in keep]


def make_sample(source: Path, out: Path, size: int, seed: int) -> tuple[int, int]:
    """Write both sample files into ``out``; returns the MQL and deal row counts."""
    mqls = read_table(source / MQL_FILE)
    deals = read_table(source / DEALS_FILE)
    won_ids = {row[deals[0].index("mql_id")] for row in deals[1]}
    sample = draw_mqls(mqls, won_ids, size, seed)

    out.mkdir(parents=True, exist_ok=True)
    (out / MQL_FILE).write_text(render_table(sample), encoding="utf-8", newline="")
    (out / DEALS_FILE).write_text(render_table(deals), encoding="utf-8", newline="")
    return len(sample[1]), len(deals[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the bundled Olist sample.")
    parser.add_argument("source", type=Path, help="directory with the two original Olist CSVs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="MQL rows in the sample")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)

    mql_count, deal_count = make_sample(args.source, args.out, args.size, args.seed)
    print(f"wrote {mql_count} MQL rows and {deal_count} closed deals to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
