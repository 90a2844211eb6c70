"""Page-fetch times of the console's leads list at a million leads in SQLite.

Run from the repository root:  .venv/bin/python bench/console_leads.py [--leads N] [--json]

1. A fresh SQLite database in a temporary directory, migrated to head, filled with N leads
   (default 1,000,000) spread over a year, each with its search words, written with
   sqlite3 directly so that filling takes about a minute.
2. Pages of 25 fetched through the console's own query (``backend.console.leads.page``):
   the newest page, a page half-way down reached by its cursor, the newest page of one
   status, and the newest page of a word search; each timed over several runs.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from backend.console import leads as lead_list
from backend.console.leads import LeadQuery
from backend.console.models import lead_terms
from backend.db import create_engine, session_factory, upgrade_database
from backend.pursuit.service import encode_cursor

STATUSES = ["offered", "accepted", "contacted", "won", "lost", "unassigned"]
FIRST = ["Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gil", "Helena", "Igor", "Júlia"]
LAST = ["Souza", "Lima", "Costa", "Pereira", "Almeida", "Rocha", "Dias", "Nunes"]
WORDS = ["Solar", "Verde", "Energia", "Casa", "Norte", "Sul", "Luz", "Campo", "Rio", "Mar"]
RUNS = 20
BATCH = 20_000


def fill(path: Path, count: int, seed: int = 7) -> float:
    """Write ``count`` leads and their search words; answers the seconds it took."""
    draw = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    began = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    for offset in range(0, count, BATCH):
        leads, terms = [], []
        for n in range(offset, min(offset + BATCH, count)):
            fields = {
                "first_name": draw.choice(FIRST),
                "last_name": draw.choice(LAST),
                "company": f"{draw.choice(WORDS)} {draw.choice(WORDS)} {n}",
                "email": f"lead{n}@example.org",
                "phone": f"+55119{n:08d}",
            }
            lead_id = uuid.UUID(int=draw.getrandbits(128)).hex
            at = start + timedelta(seconds=draw.randrange(365 * 86400))
            leads.append(
                (
                    lead_id,
                    draw.choice(STATUSES),
                    "web",
                    *fields.values(),
                    at.isoformat(),
                    at.isoformat(),
                )
            )
            # The phone's words as the product writes them, without parsing a million numbers.
            phone = fields["phone"].lstrip("+")
            words = lead_terms({**fields, "phone": None}) | {phone, phone[2:]}
            terms.extend((lead_id, term) for term in words)
        db.executemany(
            "INSERT INTO leads (id, status, source, first_name, last_name, company, email, phone,"
            " received_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            leads,
        )
        db.executemany("INSERT INTO lead_search_terms (lead_id, term) VALUES (?, ?)", terms)
        db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()
    return time.perf_counter() - began


async def timed(fetch: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await fetch()  # warm the page cache
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        await fetch()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 2), "max_ms": round(times[-1], 2)}


async def measure(url: str) -> dict[str, dict[str, float]]:
    engine = create_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC)

    async def page(chosen: LeadQuery, cursor: str | None = None) -> Any:
        async with sessions() as session:
            return await lead_list.page(
                session, chosen, since=None, until=None, now=now, cursor=cursor
            )

    middle = None
    async with sessions() as session:
        cursor = None
        for _ in range(3):  # a cursor from the middle of the list, as paging there gives
            rows, cursor = await lead_list.page(
                session, LeadQuery(), since=None, until=None, now=now, cursor=cursor, limit=200_000
            )
        middle = encode_cursor(rows[-1])
    figures = {
        "newest page": await timed(lambda: page(LeadQuery())),
        "page at 600,000 by cursor": await timed(lambda: page(LeadQuery(), middle)),
        "newest page, status=won": await timed(lambda: page(LeadQuery(status="won"))),
        "search 'verde luz'": await timed(lambda: page(LeadQuery(search="verde luz"))),
        "search 'lead12345'": await timed(lambda: page(LeadQuery(search="lead12345"))),
        "search phone '5511900012345'": await timed(
            lambda: page(LeadQuery(search="+55 11 9000 12345"))
        ),
    }
    await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pursuit-bench-leads-"))
    try:
        path = folder / "leads.db"
        url = f"sqlite+aiosqlite:///{path}"
        upgrade_database(url)
        filled = fill(path, args.leads)
        figures = asyncio.run(measure(url))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        print(json.dumps({"leads": args.leads, "fill_s": round(filled, 1), "pages": figures}))
        return
    print(f"{args.leads:,} leads written in {filled:.1f} s; pages of 25, {RUNS} runs each")
    for name, result in figures.items():
        print(
            f"  {name:<32} median {result['median_ms']:>8.2f} ms   max {result['max_ms']:>8.2f} ms"
        )


if __name__ == "__main__":
    main()
