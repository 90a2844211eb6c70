"""What CRM write-back costs: intake with and without a syncing connection, and delivery speed.

Run from the repository root:  .venv/bin/python bench/crm.py [--leads N]

1. Two fresh SQLite databases, each with one agent and a rule that takes every lead.
2. N inquiries submitted one after another as the API does, once with no CRM connection
   and once with a HubSpot connection that syncs every lead (so each lifecycle flush also
   writes an outbox row): the difference is the outbox's cost on intake.
3. The queued write-backs delivered by the CRM worker to the fake HubSpot from the tests,
   on loopback, without pacing: deliveries per second, each a read, a create, an update
   and a timeline note.

This prints figures; it is not a test and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backend.crm import service
from backend.crm.tasks import CrmWorker
from backend.db import create_engine, session_factory, upgrade_database
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry
from backend.roster.service import create_agent
from backend.routing.service import create_rule
from backend.settings import Settings
from tests.crm.fakes import FakeHubSpot

SECRET = "bench-secret-key"  # noqa: S105 - a throwaway database's key


async def prepare(sessions: Any) -> None:
    async with sessions() as session:
        agent = await create_agent(
            session, {"name": "Ana", "email": "ana@example.com", "timezone": "UTC"}
        )
        await create_rule(session, {"name": "All", "pool": {"agent_ids": [agent.id]}})


async def intake(sessions: Any, count: int, tag: str) -> list[float]:
    timings = []
    for n in range(count):
        lead = LeadIn(source="bench", external_id=f"{tag}-{n}", email=f"{tag}{n}@example.org")
        started = time.perf_counter()
        async with sessions() as session:
            await submit_inquiry(session, lead)
        timings.append(time.perf_counter() - started)
    return timings


async def run(count: int) -> None:
    logging.disable(logging.WARNING)
    hubspot = FakeHubSpot()
    await hubspot.start()
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for label in ("no connection", "syncing connection"):
            url = f"sqlite+aiosqlite:///{folder}/{label.replace(' ', '_')}.db"
            await asyncio.to_thread(upgrade_database, url)
            engine = create_engine(url)
            sessions = session_factory(engine)
            await prepare(sessions)
            if label == "syncing connection":
                async with sessions() as session:
                    await service.connect(
                        session,
                        SECRET,
                        kind="hubspot",
                        base_url=hubspot.origin,
                        credentials={"token": hubspot.token},
                        sync_all=True,
                    )
            results[label] = await intake(sessions, count, label[:2])
            if label == "syncing connection":
                await deliver(sessions, url, folder, count)
            await engine.dispose()
    await hubspot.close()
    for label, timings in results.items():
        print(
            f"intake, {label}: median {statistics.median(timings) * 1000:.2f} ms, "
            f"p90 {statistics.quantiles(timings, n=10)[-1] * 1000:.2f} ms per inquiry"
        )


async def deliver(sessions: Any, url: str, folder: str, count: int) -> None:
    settings = Settings.from_env(var_dir=Path(folder), database_url=url, secret_key=SECRET)
    worker = CrmWorker(sessions, settings, pace=False)
    started = time.perf_counter()
    delivered = 0
    while (done := await worker.deliver_due()) > 0:
        delivered += done
    elapsed = time.perf_counter() - started
    await worker.stop()
    print(
        f"write-back: {count} leads ({delivered} outbox rows) in {elapsed:.2f} s, "
        f"{count / elapsed:.0f} leads/s, {elapsed / count * 1000:.1f} ms per lead"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300)
    asyncio.run(run(parser.parse_args().leads))


if __name__ == "__main__":
    main()
