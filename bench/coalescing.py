"""Coalescing accuracy on public ground truth, and lookup time with a million prospects stored.

Run from the repository root, with the ``bench`` extra installed for the baseline:

    .venv/bin/uv pip install --python .venv/bin/python -e '.[bench]'
    .venv/bin/python bench/coalescing.py [--data DIR] [--prospects N] [--lookups N]
                                         [--part all|accuracy|speed]

1. Accuracy. Every record of each ground-truth set goes through the product's own
   ``submit_inquiry`` on a fresh, migrated SQLite database, in a shuffled order; records
   the product puts on one lead are predicted duplicates. Precision, recall and F1 are
   counted over record pairs against the set's true pairs. Beside it, recordlinkage's
   standard approach (blocking, a comparison vector, the ECM classifier) on the same
   fields of the same records (FEBRL's street number and address lines given to both as
   one street line); and, for the FEBRL sets, the recall ceiling of any matcher that keeps
   apart records whose names tell two people apart unless they share one home (the
   product's own test: a household at one address counts as one prospect).
   The baseline is also scored at the precision the product needs (0.99): its pairs whose
   ECM match probability reaches the lowest threshold that gets there. The threshold is
   chosen on the ground truth being scored, an oracle no deployed matcher has, so this
   favours the baseline. A closing table puts the three side by side for each set.
2. Speed. ``--prospects`` synthetic prospects are filed in ``prospect_keys`` of a real
   SQLite database (generated once, cached under ``bench/.cache/``), then repeat and new
   inquiries are looked up with the product's ``keys_of`` and ``find_prospects`` through
   the product's engine; p50 and p99 per lookup are printed, with the processor time a
   lookup takes (which, unlike the wall clock, other work on the machine does not
   inflate). recordlinkage's lookup of one record against the same prospects (block,
   compare, classify) is timed beside it.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import itertools
import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.db import create_engine, session_factory, upgrade_database  # noqa: E402
from backend.errors import BadInput  # noqa: E402
from backend.identity import coalescing  # noqa: E402
from backend.identity.keys import prospect_keys  # noqa: E402
from backend.identity.models import ProspectKey  # noqa: E402
from backend.intake.schemas import LeadIn  # noqa: E402
from backend.intake.service import submit_inquiry  # noqa: E402

# The shared data folder sits beside the repository (or beside a worktree's parent).
DATA = next(
    (
        p / "shared" / "data"
        for p in Path(__file__).resolve().parents[2:4]
        if (p / "shared").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data",
)
CACHE = ROOT / "bench" / ".cache"
REQUIRED_PRECISION = 0.99
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
# A seven-digit Chicago number is read in the city's original area code, as an integrator
# who knows where the listings come from would send it.
CHICAGO_AREA_CODE = "312"

Pair = frozenset[str]
INDEXED = ProspectKey.__table__


@dataclass
class Case:
    """One ground-truth set: records in arrival order and the pairs that are one prospect."""

    name: str
    records: list[tuple[str, dict[str, str]]]
    truth: set[Pair]
    # For a linkage set, only pairs across the two files count: (ids of file A).
    linked_from: set[str] | None = None
    refused: dict[str, int] = field(default_factory=dict)


@dataclass
class Scores:
    predicted: int
    true_positives: int
    truth: int
    seconds: float
    records: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.truth if self.truth else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Baseline:
    """recordlinkage's figures as it classifies by default, and at the required precision."""

    standard: Scores
    # None when no threshold on the match probability reaches the required precision.
    threshold: float | None
    strict: Scores | None


# Loading the ground-truth sets


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _febrl_fields(row: dict[str, str]) -> dict[str, str]:
    values = {
        "first_name": row["given_name"],
        "last_name": row["surname"],
        "postal_code": row["postcode"],
        "city": row["suburb"],
        "region": row["state"],
        # One street line, as an inquiry carries it: "12 herschell circuit killarney".
        "address": " ".join(
            filter(None, (row[k] for k in ("street_number", "address_1", "address_2")))
        ),
    }
    return {k: v for k, v in values.items() if v} | {"country": "AU"}


def _pairs(path: Path, first: str, second: str) -> set[Pair]:
    return {frozenset((row[first], row[second])) for row in _rows(path)}


def febrl_dedupe(data: Path, number: int, seed: int) -> Case:
    folder = data / "febrl"
    records = [(r["rec_id"], _febrl_fields(r)) for r in _rows(folder / f"febrl{number}.csv")]
    random.Random(seed).shuffle(records)
    truth = _pairs(folder / f"febrl{number}_true_pairs.csv", "rec_id_1", "rec_id_2")
    return Case(f"febrl{number}", records, truth)


def febrl_link(data: Path) -> Case:
    """febrl4a stored first, as the history; febrl4b arrives after it."""
    folder = data / "febrl"
    a = [(f"a:{r['rec_id']}", _febrl_fields(r)) for r in _rows(folder / "febrl4a.csv")]
    b = [(f"b:{r['rec_id']}", _febrl_fields(r)) for r in _rows(folder / "febrl4b.csv")]
    truth = {
        frozenset((f"a:{r['rec_id_a']}", f"b:{r['rec_id_b']}"))
        for r in _rows(folder / "febrl4_true_links.csv")
    }
    return Case("febrl4 (4b against 4a)", a + b, truth, linked_from={i for i, _ in a})


def chicago_sites(data: Path, seed: int) -> Case:
    """Organisations listed by several sources: the company-level inquiry case."""
    rows = _rows(data / "dedupe-examples" / "csv_example_input_with_true_ids.csv")
    records = []
    clusters: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        values = {
            "company": " ".join(row["Site name"].split()),
            "address": " ".join(row["Address"].split()),
            "postal_code": row["Zip"].strip(),
            "phone": _chicago_phone(row["Phone"]),
            "email": row["Email Address"].strip(),
            "city": "Chicago",
            "country": "US",
        }
        records.append((row["Id"], {k: v for k, v in values.items() if v}))
        clusters[row["True Id"]].append(row["Id"])
    random.Random(seed).shuffle(records)
    truth = {frozenset(p) for ids in clusters.values() for p in itertools.combinations(ids, 2)}
    return Case("dedupe-examples csv (Chicago sites)", records, truth)


def _chicago_phone(raw: str) -> str:
    digits = "".join(c for c in raw if c.isdigit())
    return f"{CHICAGO_AREA_CODE}{digits}" if len(digits) == 7 else raw.strip()


def _counted(case: Case, pair: Pair) -> bool:
    return case.linked_from is None or len(pair & case.linked_from) == 1


def _score(case: Case, groups: Iterator[set[str]], seconds: float) -> Scores:
    predicted: set[Pair] = set()
    for members in groups:
        for pair in itertools.combinations(sorted(members), 2):
            if _counted(case, frozenset(pair)):
                predicted.add(frozenset(pair))
    hits = len(predicted & case.truth)
    return Scores(len(predicted), hits, len(case.truth), seconds, len(case.records))


def household_ceiling(case: Case) -> Scores:
    """The best a matcher can do that keeps apart two records whose names tell two people
    apart unless they share one home (the product's own test): every other true pair
    found, clusters closed."""
    fields = dict(case.records)
    parent = {record_id: record_id for record_id in fields}

    def root(record_id: str) -> str:
        while parent[record_id] != record_id:
            record_id = parent[record_id]
        return record_id

    for pair in case.truth:
        a, b = sorted(pair)
        mine, theirs = _person(fields[a]), _person(fields[b])
        if mine.named and theirs.named and coalescing.may_be_one(mine, _filed(theirs)):
            parent[root(a)] = root(b)
    groups: dict[str, set[str]] = defaultdict(set)
    for record_id in fields:
        groups[root(record_id)].add(record_id)
    return _score(case, iter(groups.values()), 0.0)


def _person(fields: dict[str, str]) -> Any:
    return coalescing.keys_of(fields)


def _filed(keys: Any) -> coalescing.Filed:
    return coalescing.Filed(
        keys.first_name, keys.last_name, keys.company, keys.postal_code, keys.city, keys.address
    )


# The product


async def _submit(session: Any, record_id: str, fields: dict[str, str], case: Case) -> str | None:
    """Submit as an integrator would: a field intake refuses is sent again without it.

    A record intake refuses as a whole (no name, company, email or phone) is no lead.
    """
    values = dict(fields)
    while True:
        try:
            body = LeadIn(source="bench", external_id=record_id, **values)
            result = await submit_inquiry(session, body, inlet="bench", now=T0)
        except BadInput as exc:
            await session.rollback()
            wrong = exc.extra.get("field")
            if wrong not in values:
                case.refused["whole record"] = case.refused.get("whole record", 0) + 1
                return None
            case.refused[wrong] = case.refused.get(wrong, 0) + 1
            values.pop(wrong)
            continue
        assert result.lead is not None
        return result.lead.id


async def run_product(case: Case, folder: Path) -> Scores:
    path = folder / f"{abs(hash(case.name))}.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url)
    lead_of: dict[str, str] = {}
    started = time.perf_counter()
    async with session_factory(engine)() as session:
        for record_id, fields in case.records:
            lead_id = await _submit(session, record_id, fields, case)
            if lead_id is not None:
                lead_of[record_id] = lead_id
    seconds = time.perf_counter() - started
    await engine.dispose()
    groups: dict[str, set[str]] = defaultdict(set)
    for record_id, lead_id in lead_of.items():
        groups[lead_id].add(record_id)
    return _score(case, iter(groups.values()), seconds)


# recordlinkage's standard approach on the same fields


def run_baseline(case: Case) -> Baseline | None:
    try:
        import pandas as pd
        import recordlinkage
    except ImportError:
        return None
    columns = sorted({k for _, f in case.records for k in f} - {"country"})
    frame = pd.DataFrame(
        [{"id": i, **{c: f.get(c, "").lower() for c in columns}} for i, f in case.records]
    ).set_index("id")
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if case.linked_from is None:
            pairs = _baseline_index(recordlinkage, columns).index(frame)
            features = _baseline_compare(recordlinkage, columns).compute(pairs, frame)
        else:
            left = frame[frame.index.isin(case.linked_from)]
            right = frame[~frame.index.isin(case.linked_from)]
            pairs = _baseline_index(recordlinkage, columns).index(left, right)
            features = _baseline_compare(recordlinkage, columns).compute(pairs, left, right)
        classifier = recordlinkage.ECMClassifier()
        matches = classifier.fit_predict(features)
    seconds = time.perf_counter() - started
    standard = _score(case, (set(pair) for pair in matches), seconds)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        chances = {frozenset(pair): float(p) for pair, p in classifier.prob(features).items()}
    threshold = threshold_at_precision(case, chances)
    if threshold is None:
        return Baseline(standard, None, None)
    kept = (set(pair) for pair, chance in chances.items() if chance >= threshold)
    return Baseline(standard, threshold, _score(case, kept, seconds))


def threshold_at_precision(case: Case, chances: dict[Pair, float]) -> float | None:
    """The lowest match probability whose pairs at or above it reach the required precision.

    It is read off the ground truth it is then scored against: an oracle choice that
    favours the baseline, since a deployed matcher would have to set it blind.
    """
    ranked = sorted(
        ((chance, pair in case.truth) for pair, chance in chances.items() if _counted(case, pair)),
        reverse=True,
    )
    lowest, predicted, hits = None, 0, 0
    for chance, pairs in itertools.groupby(ranked, key=lambda ranked_pair: ranked_pair[0]):
        found = [hit for _, hit in pairs]
        predicted, hits = predicted + len(found), hits + sum(found)
        if hits / predicted >= REQUIRED_PRECISION:
            lowest = chance
    return lowest


def _baseline_index(recordlinkage: Any, columns: list[str]) -> Any:
    indexer = recordlinkage.Index()
    for column in ("last_name", "postal_code", "phone"):
        if column in columns:
            indexer.block(column)
    return indexer


def _baseline_compare(recordlinkage: Any, columns: list[str]) -> Any:
    compare = recordlinkage.Compare()
    for column in ("first_name", "last_name", "city", "company", "address"):
        if column in columns:
            compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in ("postal_code", "region", "phone", "email"):
        if column in columns:
            compare.exact(column, column, label=column)
    return compare


# Speed at a million prospects

SYLLABLES = [
    "ka", "lo", "mi", "ra", "te", "su", "no", "vi", "da", "re", "an", "el", "or", "us",
    "ba", "ce", "fi", "go", "hu", "ja", "ke", "li", "mo", "ne", "pa", "qu", "ro", "sa",
]  # fmt: skip
DOMAINS = ["example.com", "example.org", "mail.example.net", "gmail.com"]
STREET_TYPES = ["Street", "St", "Road", "Rd", "Avenue", "Ave", "Lane", "Drive"]


def _word(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


@dataclass(frozen=True)
class Prospect:
    email: str | None
    phone: str | None
    first_name: str
    last_name: str
    company: str | None
    postal_code: str | None
    city: str | None = None
    address: str | None = None


def synthetic_prospects(count: int, seed: int = 2026) -> Iterator[Prospect]:
    rng = random.Random(seed)
    firsts = [_word(rng, 2).title() for _ in range(600)]
    lasts = [_word(rng, 3).title() for _ in range(40_000)]
    companies = [f"{_word(rng, 3).title()} {rng.choice(['GmbH', 'Ltd', 'Inc', 'S.A.'])}"]
    companies += [f"{_word(rng, 3).title()} {_word(rng, 2).title()}" for _ in range(30_000)]
    cities = [_word(rng, 3).title() for _ in range(5_000)]
    streets = [_word(rng, 3).title() for _ in range(20_000)]
    for i in range(count):
        first, last = rng.choice(firsts), rng.choice(lasts)
        has = rng.random()
        yield Prospect(
            email=f"{first}.{last}.{i}@{rng.choice(DOMAINS)}" if has < 0.85 else None,
            phone=f"+1{rng.randint(201, 989)}{rng.randint(2_000_000, 9_999_999)}"
            if rng.random() < 0.6
            else None,
            first_name=first,
            last_name=last,
            company=rng.choice(companies) if rng.random() < 0.6 else None,
            postal_code=str(rng.randint(1000, 9999)) if rng.random() < 0.7 else None,
            city=rng.choice(cities) if rng.random() < 0.5 else None,
            address=f"{rng.randint(1, 400)} {rng.choice(streets)} {rng.choice(STREET_TYPES)}"
            if rng.random() < 0.5
            else None,
        )


def _keys(p: Prospect, country: str = "US") -> Any:
    return prospect_keys(
        email=p.email,
        phone=p.phone,
        first_name=p.first_name,
        last_name=p.last_name,
        company=p.company,
        postal_code=p.postal_code,
        city=p.city,
        country=country,
        address=p.address,
    )


def build_store(count: int) -> Path:
    """A migrated SQLite database with ``count`` prospects filed, made once and cached."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"prospects-{count}-{_filing_digest()}.db"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    upgrade_database(f"sqlite+aiosqlite:///{partial}")
    started = time.perf_counter()
    columns = (
        "kind",
        "key",
        "lead_id",
        "first_name",
        "last_name",
        "company",
        "postal_code",
        "city",
        "address",
    )
    insert = (
        "INSERT INTO prospect_keys (kind, key, lead_id, first_name, last_name, company, "
        "postal_code, city, address, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    connection = sqlite3.connect(partial, isolation_level=None)
    # A throwaway build: no journal, and the product's indexes made once, after the rows.
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-400000"):
        connection.execute(f"PRAGMA {pragma}")
    indexes = [CreateIndex(i).compile(dialect=sqlite.dialect()) for i in INDEXED.indexes]
    for index in INDEXED.indexes:
        connection.execute(f"DROP INDEX {index.name}")
    stamp = _stored_time(T0 - timedelta(days=10))
    connection.execute("BEGIN")
    batch: list[tuple[str | None, ...]] = []
    for i, prospect in enumerate(synthetic_prospects(count)):
        rows = coalescing.file_rows(_keys(prospect), f"{i:032x}", None, T0)
        batch += [(*(row[c] for c in columns), stamp) for row in rows]
        if len(batch) >= 50_000:
            connection.executemany(insert, batch)
            batch.clear()
    connection.executemany(insert, batch)
    for statement in indexes:
        connection.execute(str(statement))
    connection.execute("COMMIT")
    rows_filed = connection.execute("SELECT count(*) FROM prospect_keys").fetchone()[0]
    connection.execute("ANALYZE")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.close()
    partial.rename(path)
    took = time.perf_counter() - started
    print(f"  filed {count:,} prospects as {rows_filed:,} key rows in {took:.1f} s (cached)")
    return path


def _filing_digest() -> str:
    """Names the cached store after how the product files a prospect, so a change to its
    keys builds a new store instead of timing lookups against rows filed the old way."""
    rows = [coalescing.file_rows(_keys(p), "", None, T0) for p in synthetic_prospects(20)]
    digest = hashlib.blake2b(repr(rows).encode(), digest_size=4).hexdigest()
    indexes = sorted(str(CreateIndex(i).compile(dialect=sqlite.dialect())) for i in INDEXED.indexes)
    return digest + hashlib.blake2b(repr(indexes).encode(), digest_size=2).hexdigest()


def _stored_time(moment: datetime) -> str:
    """How the product's UTC datetime column stores an instant in SQLite."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def lookup_queries(count: int, total: int, seed: int = 7) -> list[Prospect]:
    """Half repeats of stored prospects, spelt differently; half new prospects."""
    rng = random.Random(seed)
    wanted = sorted(rng.sample(range(total), count // 2))
    stored = []
    chosen = iter(wanted)
    target = next(chosen, None)
    for i, prospect in enumerate(synthetic_prospects(total)):
        if i == target:
            stored.append(prospect)
            target = next(chosen, None)
            if target is None:
                break
    repeats = [
        Prospect(
            email=p.email.upper() if p.email else None,
            phone=None,
            first_name=p.first_name,
            last_name=p.last_name,
            company=p.company,
            postal_code=p.postal_code,
            city=p.city,
            address=p.address.upper() if p.address else None,
        )
        for p in stored
    ]
    fresh = list(synthetic_prospects(count - len(repeats), seed=seed + 1))
    queries = repeats + fresh
    rng.shuffle(queries)
    return queries


@dataclass
class Lookups:
    timings: list[float]  # wall-clock milliseconds per lookup
    found: int
    # Processor time per lookup over all the process's threads (SQLite runs in one of
    # them): unlike the wall clock, it does not grow when other work shares the cores.
    cpu_ms: float


async def time_lookups(path: Path, queries: list[Prospect]) -> Lookups:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    timings, found = [], 0
    since = T0 - coalescing.window()
    async with session_factory(engine)() as session:
        for query in queries[:20]:  # warm the page cache and the statement cache
            await coalescing.find_prospects(session, _keys(query), since)
        cpu_started = time.process_time()
        for query in queries:
            started = time.perf_counter()
            matches = await coalescing.find_prospects(session, _keys(query), since)
            timings.append((time.perf_counter() - started) * 1000)
            found += bool(matches)
        cpu_ms = (time.process_time() - cpu_started) * 1000 / len(queries)
        await session.rollback()
    await engine.dispose()
    return Lookups(timings, found, cpu_ms)


def time_baseline_lookups(count: int, queries: list[Prospect]) -> list[float] | None:
    try:
        import pandas as pd
        import recordlinkage
    except ImportError:
        return None
    columns = [
        "first_name", "last_name", "company", "postal_code", "city", "address", "email", "phone",
    ]  # fmt: skip

    def frame(prospects: Any) -> Any:
        return pd.DataFrame(
            [{c: (getattr(p, c) or "").lower() for c in columns} for p in prospects]
        )

    store = frame(synthetic_prospects(count))
    indexer = recordlinkage.Index()
    indexer.block("last_name")
    compare = recordlinkage.Compare()
    for column in ("first_name", "last_name", "company", "city", "address"):
        compare.string(column, column, method="jarowinkler", threshold=0.85, label=column)
    for column in ("postal_code", "email", "phone"):
        compare.exact(column, column, label=column)
    sample = frame(queries[:60])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        training = compare.compute(indexer.index(sample, store), sample, store)
        classifier = recordlinkage.ECMClassifier()
        classifier.fit(training)
        timings = []
        for i in range(len(sample)):
            one = sample.iloc[[i]]
            started = time.perf_counter()
            pairs = indexer.index(one, store)
            if len(pairs):
                classifier.predict(compare.compute(pairs, one, store))
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _spread(timings: list[float]) -> str:
    return f"p50 {percentile(timings, 0.5):.3f} ms  p99 {percentile(timings, 0.99):.3f} ms"


def _line(label: str, scores: Scores | None) -> str:
    if scores is None:
        return f"  {label:<14} (recordlinkage not installed: install the bench extra)"
    per_record = scores.seconds / scores.records * 1000
    return (
        f"  {label:<14} precision {scores.precision:.4f}  recall {scores.recall:.4f}  "
        f"F1 {scores.f1:.4f}  pairs {scores.true_positives}/{scores.predicted} predicted, "
        f"{scores.truth} true  ({per_record:.2f} ms a record)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--prospects", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11, help="arrival order of the records")
    parser.add_argument("--part", choices=("all", "accuracy", "speed"), default="all")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # every bench lead is unassigned: no roster, no rules

    if args.part != "speed":
        await accuracy(args)
    if args.part != "accuracy":
        await speed(args)


def _strict_line(baseline: Baseline) -> str:
    label = f"  at P ≥ {REQUIRED_PRECISION}"
    if baseline.strict is None or baseline.threshold is None:
        return f"  {label:<14} no threshold on the match probability reaches it"
    strict = baseline.strict
    return (
        f"  {label:<14} precision {strict.precision:.4f}  recall {strict.recall:.4f}  "
        f"F1 {strict.f1:.4f}  pairs {strict.true_positives}/{strict.predicted} predicted, "
        f"{strict.truth} true  (match probability ≥ {baseline.threshold:.9g}, chosen on the truth)"
    )


def _side_by_side(rows: list[tuple[str, Scores, Baseline | None]]) -> None:
    print(
        f"Side by side, precision / recall (recordlinkage at P ≥ {REQUIRED_PRECISION}: the lowest"
        " ECM match probability that reaches it, chosen on the ground truth, which favours the"
        " baseline)"
    )
    heads = ("pursuit", "recordlinkage", f"recordlinkage at P ≥ {REQUIRED_PRECISION}")
    print(f"  {'set':<36} {heads[0]:<17} {heads[1]:<17} {heads[2]}")
    for name, product, baseline in rows:
        standard = _pr(baseline.standard) if baseline else "not installed"
        strict = "not installed"
        if baseline:
            strict = _pr(baseline.strict) if baseline.strict else "not reached"
        print(f"  {name:<36} {_pr(product):<17} {standard:<17} {strict}")


def _pr(scores: Scores) -> str:
    return f"{scores.precision:.4f} / {scores.recall:.4f}"


async def accuracy(args: argparse.Namespace) -> None:
    cases = [
        febrl_dedupe(args.data, 1, args.seed),
        febrl_dedupe(args.data, 2, args.seed),
        febrl_dedupe(args.data, 3, args.seed),
        febrl_link(args.data),
        chicago_sites(args.data, args.seed),
    ]
    print("Accuracy over record pairs (product: submit_inquiry; baseline: recordlinkage ECM)")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            product = await run_product(case, Path(folder))
            baseline = run_baseline(case)
            rows.append((case.name, product, baseline))
            print(f"{case.name}: {len(case.records):,} records")
            print(_line("pursuit", product))
            print(_line("recordlinkage", baseline.standard if baseline else None))
            if baseline:
                print(_strict_line(baseline))
            if case.name.startswith("febrl"):
                ceiling = household_ceiling(case)
                print(
                    f"  {'names ceiling':<14} recall {ceiling.recall:.4f}  (no pair whose names"
                    " tell two people apart, unless they share one home)"
                )
            if case.refused:
                refused = ", ".join(f"{k} {v}" for k, v in sorted(case.refused.items()))
                print(f"  refused by intake and sent again without the field: {refused}")
    _side_by_side(rows)


async def speed(args: argparse.Namespace) -> None:
    print(f"Lookup with {args.prospects:,} prospects stored (SQLite, prospect_keys)")
    path = await asyncio.to_thread(build_store, args.prospects)
    queries = lookup_queries(args.lookups, args.prospects)
    lookups = await time_lookups(path, queries)
    timings = lookups.timings
    print(
        f"  pursuit        {_spread(timings)}  mean {statistics.fmean(timings):.3f} ms"
        f" over {len(timings):,} lookups ({lookups.found:,} matched),"
        f" processor time {lookups.cpu_ms:.3f} ms a lookup"
    )
    baseline = time_baseline_lookups(args.prospects, queries)
    if baseline is None:
        print("  recordlinkage  (not installed: install the bench extra)")
    else:
        print(
            f"  recordlinkage  {_spread(baseline)}"
            f"  over {len(baseline):,} lookups (block on last name, compare, ECM)"
        )


if __name__ == "__main__":
    asyncio.run(main())
