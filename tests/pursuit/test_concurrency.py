"""Racing lifecycle steps on separate sessions: each lead keeps at most one live offer.

On SQLite the engine queues transactions on its one connection; on PostgreSQL the
sessions run on parallel connections and take turns only through row locks.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import Conflict, Forbidden, NotFound
from backend.pursuit import service
from backend.pursuit.models import Lead, Offer
from backend.routing.models import Rule
from tests.factories import Client, add_agent, add_rule, link_for, make_agent, make_rule, submit

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]
LIVE = ("pending", "accepted")


def broken_invariants(rows: list[tuple[Any, ...]]) -> list[str]:
    """What is wrong with (lead, lead status, owner, offer status, agent, broadcast) rows.

    A lead may have one pending or accepted offer; several pending only as one broadcast
    nobody accepted yet. The lead's status and owner must agree with its live offer.
    """
    live: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    leads = {}
    for lead_id, lead_status, owner_id, offer_status, agent_id, broadcast_id in rows:
        leads[lead_id] = (lead_status, owner_id)
        if offer_status in LIVE:
            live[lead_id].append((offer_status, agent_id, broadcast_id))

    wrong = []
    for lead_id, (lead_status, owner_id) in leads.items():
        offers = live.get(lead_id, [])
        accepted = [o for o in offers if o[0] == "accepted"]
        pending = [o for o in offers if o[0] == "pending"]
        groups = {o[2] for o in pending}
        if accepted and (len(accepted) > 1 or pending):
            wrong.append(f"{lead_id}: accepted beside other live offers {offers}")
        elif accepted and (lead_status, owner_id) != ("accepted", accepted[0][1]):
            if (lead_status, owner_id) != ("contacted", accepted[0][1]):
                wrong.append(f"{lead_id}: accepted offer but lead {lead_status} of {owner_id}")
        elif len(pending) > 1 and (None in groups or len(groups) > 1):
            wrong.append(f"{lead_id}: several pending offers outside one broadcast {offers}")
        elif pending and (lead_status, owner_id) != ("offered", None):
            wrong.append(f"{lead_id}: pending offers but lead {lead_status} of {owner_id}")
        elif not offers and lead_status in ("offered", "accepted"):
            wrong.append(f"{lead_id}: lead {lead_status} without a live offer")
    return wrong


async def check_invariants(sessions: Sessions) -> list[str]:
    """One statement, so PostgreSQL answers from one snapshot."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                Lead.id,
                Lead.status,
                Lead.owner_id,
                Offer.status,
                Offer.agent_id,
                Offer.broadcast_id,
            ).outerjoin(Offer, Offer.lead_id == Lead.id)
        )
        return broken_invariants([tuple(r) for r in rows.all()])


async def on_own_session(sessions: Sessions, step: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    async with sessions() as session:
        return await step(session)


def answered_or_refused(results: list[Any]) -> list[BaseException]:
    """The outcomes that are neither a result nor a refusal a racing step may get."""
    return [r for r in results if isinstance(r, BaseException) and not _refusal(r)]


def _refusal(error: BaseException) -> bool:
    return isinstance(error, Conflict | Forbidden | NotFound)


async def test_fifty_concurrent_intakes_split_evenly_between_two_agents(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", capacity=100)
        bia = await add_agent(session, "Bia", capacity=100)
        await add_rule(session, "Pair", [ana, bia])

    async def intake(i: int) -> str:
        async with sessions() as session:
            result = await submit(session, f"c{i}", T0)
            return str(result.offer.agent_id)

    picks = await asyncio.gather(*(intake(i) for i in range(50)))

    assert Counter(picks) == {ana: 25, bia: 25}
    assert await check_invariants(sessions) == []


async def test_broadcast_accepted_by_two_at_once_has_one_winner(
    client: Client, auth: dict[str, str]
) -> None:
    agents = [await make_agent(client, auth, n, capacity=100) for n in ("Ana", "Bia", "Caio")]
    await make_rule(client, auth, "Everyone", agents, strategy="broadcast")
    links = {a: await link_for(client, auth, a) for a in agents}
    outcomes = []

    for i in range(5):
        created = await client.post(
            "/api/v1/leads",
            json={"source": "web", "external_id": f"b{i}", "email": f"b{i}@example.org"},
            headers=auth,
        )
        lead_id = created.json()["lead_id"]
        lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=auth)).json()
        offer_of = {o["agent_id"]: o["id"] for o in lead["offers"]}
        first, second = agents[i % 2], agents[(i + 1) % 2]
        answers = await asyncio.gather(
            client.post(f"/api/v1/offers/{offer_of[first]}/accept", headers=links[first]),
            client.post(f"/api/v1/offers/{offer_of[second]}/accept", headers=links[second]),
        )
        after = (await client.get(f"/api/v1/leads/{lead_id}", headers=auth)).json()
        outcomes.append((answers, after))

    for answers, after in outcomes:
        codes = sorted(a.status_code for a in answers)
        [won] = [a for a in answers if a.status_code == 200]
        [lost] = [a for a in answers if a.status_code == 409]
        winner = won.json()["owner"]
        assert codes == [200, 409]
        assert lost.json()["detail"] == "This lead is already taken: the offer was withdrawn."
        assert (after["status"], after["owner"]) == ("accepted", winner)
        assert sorted(o["status"] for o in after["offers"]) == [
            "accepted",
            "withdrawn",
            "withdrawn",
        ]
        assert [o["agent_id"] for o in after["offers"] if o["status"] == "accepted"] == [winner]


async def intake(session: AsyncSession, external_id: str, at: datetime, product: str) -> Any:
    return await submit(session, external_id, at, product=product)


async def accept(session: AsyncSession, offer: Offer, at: datetime) -> Any:
    return await service.accept_offer(session, offer.id, agent_id=offer.agent_id, now=at)


async def decline(session: AsyncSession, offer: Offer, at: datetime) -> Any:
    return await service.decline_offer(
        session, offer.id, agent_id=offer.agent_id, reason="other", now=at
    )


async def contact(session: AsyncSession, offer: Offer, at: datetime) -> Any:
    return await service.log_activity(
        session, offer.lead_id, agent_id=offer.agent_id, kind="call", now=at
    )


ANSWERS = {"accept": accept, "decline": decline, "contact": contact}


class Race:
    """Rounds of intakes, answers, contacts and sweeps, all started at once."""

    def __init__(self, sessions: Sessions, seed: int) -> None:
        self.sessions = sessions
        self.random = random.Random(seed)
        self.refused = 0
        self.seen_broken: list[str] = []

    async def live_offers(self) -> list[Offer]:
        async with self.sessions() as session:
            found = await session.scalars(select(Offer).where(Offer.status.in_(LIVE)))
            return list(found.all())

    def steps_for(self, offer: Offer, at: datetime) -> list[Callable[[AsyncSession], Any]]:
        """Several answers to one offer, so that they race each other too."""
        kinds = self.random.choice(
            [["accept"], ["decline"], ["accept", "accept"], ["accept", "decline"], []]
        )
        if offer.status == "accepted":
            kinds = self.random.choice([["contact"], []])
        steps: list[Callable[[AsyncSession], Any]] = []
        for kind in kinds:
            when = at + timedelta(seconds=self.random.randint(0, 30))
            steps.append(partial(ANSWERS[kind], offer=offer, at=when))
        return steps

    async def round(self, number: int) -> None:
        at = T0 + timedelta(seconds=30 * number)
        steps: list[Callable[[AsyncSession], Any]] = []
        for i in range(4):
            product = self.random.choice(["solar", "wind"])
            steps.append(partial(intake, external_id=f"r{number}-{i}", at=at, product=product))
        for offer in await self.live_offers():
            steps += self.steps_for(offer, at)
        sweep_at = at + timedelta(seconds=20)
        steps.append(lambda s: service.expire_due_offers(s, now=sweep_at))
        steps.append(lambda s: service.chase_overdue_contacts(s, now=sweep_at))
        self.random.shuffle(steps)

        done = asyncio.Event()
        watching = asyncio.create_task(self.watch(done))
        results = await asyncio.gather(
            *(on_own_session(self.sessions, step) for step in steps), return_exceptions=True
        )
        done.set()
        await watching

        assert answered_or_refused(results) == []
        self.refused += sum(isinstance(r, BaseException) for r in results)

    async def watch(self, done: asyncio.Event) -> None:
        """Check the invariant while the round runs, not only between rounds."""
        while not done.is_set():
            self.seen_broken += await check_invariants(self.sessions)
            await asyncio.sleep(0.02)


async def test_racing_intake_answers_and_sweeps_keep_one_live_offer_per_lead(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        agents = [await add_agent(session, n, capacity=100) for n in ("Ana", "Bia", "Caio", "Davi")]
        await add_rule(
            session,
            "Wind",
            agents[:3],
            priority=1,
            conditions={"product": ["wind"]},
            strategy="broadcast",
            accept_timeout_s=40,
            contact_timeout_s=45,
        )
        await add_rule(
            session, "All", agents, priority=2, accept_timeout_s=40, contact_timeout_s=45
        )
    race = Race(sessions, seed=20260601)

    for number in range(8):
        await race.round(number)
    final = await check_invariants(sessions)
    async with sessions() as session:
        statuses = Counter((await session.scalars(select(Offer.status))).all())

    assert race.seen_broken == []
    assert final == []
    # The race did make moves, and some of them lost; which ones win is up to timing.
    assert {"accepted", "declined"} <= set(statuses)
    assert race.refused > 0


async def test_contact_logged_while_the_lead_is_reclaimed_is_refused(sessions: Sessions) -> None:
    async with sessions() as session:
        ana, bia = await add_agent(session, "Ana"), await add_agent(session, "Bia")
        await add_rule(session, "Pair", [ana, bia], accept_timeout_s=60, contact_timeout_s=60)
        result = await submit(session, "k1", T0)
        await service.accept_offer(session, result.offer.id, agent_id=ana, now=T0)
        await service.chase_overdue_contacts(session, now=T0 + timedelta(seconds=60))
    lead_id, late = result.lead.id, T0 + timedelta(seconds=120)

    async def contact(session: AsyncSession) -> Any:
        return await service.log_activity(session, lead_id, agent_id=ana, kind="call", now=late)

    async with sessions() as holder:
        # The chase queues for the lead first, then the contact starts from what it read.
        await holder.execute(select(Lead.id).where(Lead.id == lead_id).with_for_update())
        chase = asyncio.create_task(
            on_own_session(sessions, lambda s: service.chase_overdue_contacts(s, now=late))
        )
        await asyncio.sleep(0.3)
        logged = asyncio.create_task(on_own_session(sessions, contact))
        await asyncio.sleep(0.3)
        await holder.rollback()
    moved = await chase
    refused = await asyncio.gather(logged, return_exceptions=True)
    async with sessions() as session:
        lead = await service.get_lead(session, lead_id)

    assert [o.agent_id for o in moved] == [bia]
    assert [type(r) for r in refused] == [NotFound]  # the lead is no longer hers
    assert (lead.status, lead.owner_id, lead.first_contact_at) == ("offered", None, None)
    assert await check_invariants(sessions) == []


async def test_concurrent_intakes_never_exceed_an_agents_capacity(sessions: Sessions) -> None:
    async with sessions() as session:
        ana = await add_agent(session, "Ana", capacity=1)
        bia = await add_agent(session, "Bia", capacity=1)
        rule_id = await add_rule(session, "Pair", [ana, bia])

    async def intake(i: int) -> str | None:
        async with sessions() as session:
            result = await submit(session, f"k{i}", T0)
            return result.offer.agent_id if result.offer else None

    async with sessions() as holder:
        # Every intake counts open leads, then queues for the rotation behind the holder.
        await holder.execute(select(Rule.id).where(Rule.id == rule_id).with_for_update())
        intakes = [asyncio.create_task(intake(i)) for i in range(4)]
        await asyncio.sleep(0.5)
        await holder.rollback()
    picks = await asyncio.gather(*intakes)

    assert Counter(picks) == {ana: 1, bia: 1, None: 2}
