"""The lead lifecycle as a state machine: random intakes, answers, contacts and clock ticks.

Each step's outcome is predicted from the stored state before it, and after every step
the one-live-offer invariant must hold. The machine runs in a thread with its own event
loop, on a fresh database per example.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from backend.db import create_engine, session_factory
from backend.errors import Conflict
from backend.models import Base
from backend.pursuit import service
from backend.pursuit.models import Lead, Offer
from tests.factories import add_agent, add_rule, submit
from tests.pursuit.test_concurrency import check_invariants

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ACCEPT_S, CONTACT_S = 60, 300
MACHINE_SETTINGS = settings(
    max_examples=20,
    stateful_step_count=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
Result = TypeVar("Result")


async def roster(session: AsyncSession) -> None:
    """Wind leads go to all three at once; the rest rotate, then escalate to Mara."""
    ana, bia, caio = [await add_agent(session, n) for n in ("Ana", "Bia", "Caio")]
    mara = await add_agent(session, "Mara")
    backup = await add_rule(
        session, "Backup", [mara], conditions={"country": ["IS"]}, accept_timeout_s=ACCEPT_S
    )
    timeouts = {"accept_timeout_s": ACCEPT_S, "contact_timeout_s": CONTACT_S}
    await add_rule(
        session,
        "Wind",
        [ana, bia, caio],
        priority=1,
        conditions={"product": ["wind"]},
        strategy="broadcast",
        **timeouts,
    )
    await add_rule(
        session, "All", [ana, bia, caio], priority=2, escalate_to_rule_id=backup, **timeouts
    )


def lifecycle_machine(fresh_database: Callable[[], str]) -> type[RuleBasedStateMachine]:
    class LeadLifecycle(RuleBasedStateMachine):
        leads = Bundle("leads")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.engine: AsyncEngine = create_engine(fresh_database())
            self.sessions = session_factory(self.engine)
            self.now = T0
            self.count = 0
            self.run(self.prepare())

        def run(self, work: Coroutine[Any, Any, Result]) -> Result:
            return self.loop.run_until_complete(work)

        async def prepare(self) -> None:
            if self.engine.dialect.name == "postgresql":
                # Deleting a few rows is much quicker than truncating every table.
                async with self.engine.begin() as connection:
                    for table in reversed(Base.metadata.sorted_tables):
                        await connection.execute(table.delete())
            async with self.sessions() as session:
                await roster(session)

        def teardown(self) -> None:
            self.run(self.engine.dispose())
            self.loop.close()

        async def offers_of(self, lead_id: str) -> list[Offer]:
            async with self.sessions() as session:
                query = select(Offer).where(Offer.lead_id == lead_id).order_by(Offer.offered_at)
                return list((await session.scalars(query)).all())

        async def lead(self, lead_id: str) -> Lead:
            async with self.sessions() as session:
                return await service.get_lead(session, lead_id)

        def attempt(self, step: Callable[[AsyncSession], Coroutine[Any, Any, Any]]) -> bool:
            """Run one step on its own session: True if done, False if refused."""

            async def on_session() -> bool:
                async with self.sessions() as session:
                    try:
                        await step(session)
                    except Conflict:
                        return False
                    return True

            return self.run(on_session())

        @rule(target=leads, product=st.sampled_from(["solar", "wind"]))
        def intake(self, product: str) -> str:
            self.count += 1
            external_id = f"m{self.count}"

            async def go() -> str:
                async with self.sessions() as session:
                    result = await submit(session, external_id, self.now, product=product)
                    return str(result.lead.id)

            return self.run(go())

        @rule(lead_id=leads, pick=st.integers(0, 5), answer=st.sampled_from(["accept", "decline"]))
        def answer(self, lead_id: str, pick: int, answer: str) -> None:
            offers = self.run(self.offers_of(lead_id))
            offer = offers[pick % len(offers)] if offers else None
            if offer is None:
                return
            open_now = offer.status == "pending" and offer.expires_at > self.now

            if answer == "accept":
                done = self.attempt(
                    lambda s: service.accept_offer(
                        s, offer.id, agent_id=offer.agent_id, now=self.now
                    )
                )
            else:
                done = self.attempt(
                    lambda s: service.decline_offer(
                        s, offer.id, agent_id=offer.agent_id, reason="other", now=self.now
                    )
                )

            assert done is open_now
            after = {o.id: o for o in self.run(self.offers_of(lead_id))}
            if done and answer == "accept":
                lead = self.run(self.lead(lead_id))
                assert (lead.status, lead.owner_id) == ("accepted", offer.agent_id)
                assert [o.status for o in after.values() if o.status == "pending"] == []
            if done and answer == "decline":
                assert after[offer.id].status == "declined"

        @rule(lead_id=leads)
        def contact(self, lead_id: str) -> None:
            before = self.run(self.lead(lead_id))

            done = self.attempt(
                lambda s: service.log_activity(s, lead_id, agent_id=None, kind="call", now=self.now)
            )

            assert done is (before.owner_id is not None)
            if done:
                after = self.run(self.lead(lead_id))
                assert after.first_contact_at is not None
                assert after.status in ("contacted", "won", "lost")

        @rule(seconds=st.sampled_from([1, 30, ACCEPT_S, CONTACT_S]))
        def tick(self, seconds: int) -> None:
            self.now += timedelta(seconds=seconds)

            async def sweep() -> None:
                async with self.sessions() as session:
                    await service.expire_due_offers(session, now=self.now)
                    await service.chase_overdue_contacts(session, now=self.now)

            self.run(sweep())

        @invariant()
        def one_live_offer_per_lead(self) -> None:
            assert self.run(check_invariants(self.sessions)) == []

        @invariant()
        def nobody_gets_a_lead_back_they_turned_down(self) -> None:
            offers = self.run(self.every_offer())
            turned_down: dict[tuple[str, str], datetime] = {}
            for offer in offers:
                key = (offer.lead_id, offer.agent_id)
                if key in turned_down:
                    raise AssertionError(f"{key} offered again after {turned_down[key]}")
                if offer.status in ("declined", "expired"):
                    turned_down[key] = offer.offered_at

        async def every_offer(self) -> list[Offer]:
            async with self.sessions() as session:
                query = select(Offer).order_by(Offer.offered_at, Offer.id)
                return list((await session.scalars(query)).all())

    return LeadLifecycle


async def test_lead_lifecycle_keeps_its_invariants_under_any_order(
    database_url: str, sqlite_template: Path, tmp_path: Path
) -> None:
    copies = iter(range(1_000_000))

    def fresh_database() -> str:
        if not database_url.startswith("sqlite"):
            return database_url
        path = tmp_path / f"machine-{next(copies)}.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"

    machine = lifecycle_machine(fresh_database)

    await asyncio.to_thread(run_state_machine_as_test, machine, settings=MACHINE_SETTINGS)
