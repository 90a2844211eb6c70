"""What routing reads about the world: pools, loads, history, rotation, fair-share counts.

Live routing reads the database through ``DatabaseFacts``; a what-if replay supplies
its own answers through the same protocol, so both decide with the same code.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CompoundSelect,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.direct import IdList, Read, constants
from backend.pursuit.models import Lead, Offer
from backend.roster.models import Agent
from backend.routing.eligibility import History
from backend.routing.models import Rotation, Rule
from backend.routing.records import RosterAgent, RoutingRule
from backend.routing.snapshot import Snapshot, snapshot, version_query
from backend.routing.strategies import Turn
from backend.scoring.models import AgentEvidence

OPEN_LEAD_STATUSES = ("accepted", "contacted")
FAIR_SHARE_WINDOW = timedelta(days=30)
LOOKED_BACK = ("declined", "expired", "withdrawn")  # offers that keep an agent from a lead


@dataclass
class Standing:
    """What the database says about agents at work: open leads, today's offers for those
    with a daily cap, and who is unreachable until a manager restores them."""

    loads: dict[str, int]
    offered_today: dict[str, int]
    unreachable: set[str] = field(default_factory=set)


class RoutingFacts(Protocol):
    async def pool_agents(self, pool: dict[str, Any]) -> list[RosterAgent]: ...

    async def agents(self, agent_ids: set[str]) -> dict[str, RosterAgent]: ...

    async def standing(self, agents: list[RosterAgent], now: datetime) -> Standing: ...

    async def history(self, lead_id: str | None) -> dict[str, History]: ...

    async def previous_owner(self, lead: Any, lead_id: str | None) -> str | None: ...

    async def turns(
        self, rule_id: str, lock: bool, agent_ids: list[str] | None = None
    ) -> dict[str, Turn]: ...

    async def served_by_group(self, rule_id: str, now: datetime) -> dict[str | None, int]: ...

    async def shares(self, partner_ids: set[str]) -> dict[str | None, float]: ...


def _standing(ids: IdList) -> CompoundSelect[Any]:
    """Open leads per agent, offers since the earliest capped midnight, and who is
    unreachable, as (kind, agent, time, count) rows."""
    no_time = type_coerce(null(), Offer.offered_at.type)
    open_leads = (
        select(Offer.agent_id.label("agent_id"))
        .where(Offer.status == "pending", Offer.agent_id.in_(ids("agent_ids")))
        .union_all(
            select(Lead.owner_id.label("agent_id")).where(
                Lead.owner_id.in_(ids("agent_ids")),
                Lead.status.in_(constants(OPEN_LEAD_STATUSES)),
            )
        )
        .subquery()
    )
    offered_since: Select[Any] = select(
        literal_column("'offered'").label("kind"), Offer.agent_id, Offer.offered_at.label("at")
    ).where(
        Offer.agent_id.in_(ids("capped_ids")),
        Offer.offered_at >= bindparam("since", type_=Offer.offered_at.type),
        Offer.offered_at <= bindparam("now", type_=Offer.offered_at.type),
    )
    loads = (
        select(literal_column("'open'"), open_leads.c.agent_id, no_time)
        .add_columns(func.count())
        .group_by(open_leads.c.agent_id)
    )
    unreachable = select(
        literal_column("'unreachable'"), AgentEvidence.agent_id, no_time, literal_column("0")
    ).where(
        AgentEvidence.agent_id.in_(ids("agent_ids")), AgentEvidence.unreachable_since.is_not(None)
    )
    return union_all(offered_since.add_columns(literal_column("0").label("n")), loads, unreachable)


def _turns_of(ids: IdList) -> Select[Any]:
    return TURNS.where(Rotation.agent_id.in_(ids("agent_ids")))


SERVED_BY_GROUP = (
    select(Agent.partner_id, func.count(func.distinct(Offer.lead_id)))
    .join(Agent, Agent.id == Offer.agent_id)
    .where(
        Offer.rule_id == bindparam("rule_id"),
        Offer.offered_at >= bindparam("since", type_=Offer.offered_at.type),
    )
    .group_by(Agent.partner_id)
)
TURNS = select(Rotation.agent_id, Rotation.sequence, Rotation.pass_value).where(
    Rotation.rule_id == bindparam("rule_id")
)
# Built once: a statement reused with new values skips building its cache key.
STANDING = Read.of(_standing, "agent_ids", "capped_ids")
TURNS_OF = Read.of(_turns_of, "agent_ids")
ROTATION = Read(TURNS, TURNS)
SERVED = Read(SERVED_BY_GROUP, SERVED_BY_GROUP)


def local_midnight(now: datetime, zone: str) -> datetime:
    local = now.astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


class DatabaseFacts:
    """Routing facts read from the database in the caller's transaction.

    The roster, rules and partner shares come from the engine's snapshot, checked
    against the roster version once per instance; everything else is read each time.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self._flushed = False
        self._snapshot: Snapshot | None = None
        self._prefetched: tuple[str | None, dict[str, History], str | None] | None = None
        # Agents already counted in this decision; pools of one lead share many of them.
        self._counted = Standing({}, {})

    async def _read(self, read: Read, values: dict[str, Any]) -> list[Any]:
        """The rows of a Core read on the transaction's connection, without the ORM's
        handling of a query.

        The session's pending changes are flushed first, as its own queries would do
        unless autoflush is off; routing reads change nothing the session holds.
        """
        if not self._flushed:
            if self.session.sync_session.autoflush:
                await self.session.flush()
            self._flushed = True
        return await self.session.run_sync(_rows_of, read, values)

    async def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            if self._prefetched is not None:
                version = self._prefetched[0]
            else:
                version = await self.session.scalar(version_query())
            self._snapshot = await snapshot(self.session, version)
        return self._snapshot

    async def prefetch(self, lead: Any, lead_id: str | None) -> None:
        """Read the roster version, the lead's history and its previous owner in one go."""
        query = _prefetch_query(bool(lead.email), bool(lead.phone), lead_id is not None)
        values = {"email": lead.email, "phone": lead.phone, "lead_id": lead_id}
        rows = await self._read(query, values)
        past = [(agent, status, why) for _, _, agent, status, why in rows if agent is not None]
        self._prefetched = rows[0][0], _histories(past), rows[0][1]

    async def active_rules(self) -> list[RoutingRule]:
        return (await self.snapshot()).active_rules

    async def pool_agents(self, pool: dict[str, Any]) -> list[RosterAgent]:
        """Everyone a pool names directly or through a team or partner, oldest first."""
        return (await self.snapshot()).pool(pool)

    async def agents(self, agent_ids: set[str]) -> dict[str, RosterAgent]:
        known = (await self.snapshot()).agents
        return {i: known[i] for i in agent_ids if i in known}

    async def lock_rule(self, rule_id: str) -> None:
        """Hold the rule's row until commit, so routers of one rule queue here and each
        sees the other's offers; SQLite's writers already take turns.

        Counts read before the lock may be stale once it is held, and are read again.
        """
        if self.session.get_bind().dialect.name != "sqlite":
            await self.session.execute(select(Rule.id).where(Rule.id == rule_id).with_for_update())
            self._counted = Standing({}, {})

    async def standing(self, agents: list[RosterAgent], now: datetime) -> Standing:
        """Open leads (pending offers plus accepted leads not yet closed), offers since
        midnight in each capped agent's own zone, and who is unreachable.

        Each agent is read once per decision, however many pools name them.
        """
        counted = self._counted
        fresh = await self._read_standing([a for a in agents if a.id not in counted.loads], now)
        counted.loads.update(fresh.loads)
        counted.offered_today.update(fresh.offered_today)
        counted.unreachable |= fresh.unreachable
        ids = [a.id for a in agents]
        return Standing(
            {i: counted.loads[i] for i in ids},
            {i: counted.offered_today[i] for i in ids if i in counted.offered_today},
            {i for i in ids if i in counted.unreachable},
        )

    async def _read_standing(self, agents: list[RosterAgent], now: datetime) -> Standing:
        """What ``standing`` answers, for agents not counted yet: in one read."""
        found = Standing(dict.fromkeys((a.id for a in agents), 0), {})
        if not agents:
            return found
        capped = [a for a in agents if a.daily_cap is not None]
        midnights = {zone: local_midnight(now, zone) for zone in {a.timezone for a in capped}}
        since = {a.id: midnights[a.timezone] for a in capped}
        values = {
            "agent_ids": list(found.loads),
            "capped_ids": list(since),
            "since": min(since.values(), default=now),
            "now": now,
        }
        today: dict[str, int] = defaultdict(int)
        for kind, agent_id, at, count in await self._read(STANDING, values):
            if kind == "open" and agent_id is not None:
                found.loads[agent_id] += count
            elif kind == "offered" and at >= since[agent_id]:
                today[agent_id] += 1
            elif kind == "unreachable":
                found.unreachable.add(agent_id)
        found.offered_today = dict(today)
        return found

    async def history(self, lead_id: str | None) -> dict[str, History]:
        if lead_id is None:
            return {}
        if self._prefetched is not None:
            return self._prefetched[1]
        rows = await self.session.execute(
            select(Offer.agent_id, Offer.status, Offer.withdrawn_reason).where(
                Offer.lead_id == lead_id, Offer.status.in_(LOOKED_BACK)
            )
        )
        return _histories(rows.tuples().all())

    async def previous_owner(self, lead: Any, lead_id: str | None) -> str | None:
        """The agent who last owned a lead from the same email or phone, if any."""
        if self._prefetched is not None:
            return self._prefetched[2]
        query = _previous_owner(bool(lead.email), bool(lead.phone), lead_id is not None)
        values = {"email": lead.email, "phone": lead.phone, "lead_id": lead_id}
        owner: str | None = await self.session.scalar(query, values)
        return owner

    async def turns(
        self, rule_id: str, lock: bool, agent_ids: list[str] | None = None
    ) -> dict[str, Turn]:
        """The rule's rotation, of ``agent_ids`` only when given; with ``lock`` other routers
        of this rule wait for us.

        SQLite needs no row lock: every transaction there begins ``IMMEDIATE``, so all
        writers already take turns.
        """
        if lock and self.session.get_bind().dialect.name != "sqlite":
            await self.session.execute(select(Rule.id).where(Rule.id == rule_id).with_for_update())
        if agent_ids is None:
            rows = await self._read(ROTATION, {"rule_id": rule_id})
        else:
            rows = await self._read(TURNS_OF, {"rule_id": rule_id, "agent_ids": agent_ids})
        return {
            agent_id: Turn(sequence, pass_value if sequence else None)
            for agent_id, sequence, pass_value in rows
        }

    async def served_by_group(self, rule_id: str, now: datetime) -> dict[str | None, int]:
        """Leads this rule offered to each partner company (None: employees) lately."""
        window = {"rule_id": rule_id, "since": now - FAIR_SHARE_WINDOW}
        rows = await self._read(SERVED, window)
        return {partner_id: count for partner_id, count in rows}

    async def shares(self, partner_ids: set[str]) -> dict[str | None, float]:
        known = (await self.snapshot()).fair_shares
        shares: dict[str | None, float] = {None: 1.0}
        shares.update((p, known[p]) for p in partner_ids if p in known)
        return shares


def _rows_of(session: Session, read: Read, values: dict[str, Any]) -> list[Any]:
    return read.rows(session.connection(), values)


@cache
def _previous_owner(by_email: bool, by_phone: bool, other: bool) -> Select[tuple[str | None]]:
    """The latest owner of a lead from the same email or phone; built once per shape."""
    keys = [
        column == bindparam(name, type_=column.type)
        for column, name, used in ((Lead.email, "email", by_email), (Lead.phone, "phone", by_phone))
        if used
    ]
    query = (
        select(Lead.owner_id)
        .where(or_(*keys) if keys else false(), Lead.owner_id.is_not(None))
        .order_by(Lead.received_at.desc())
        .limit(1)
    )
    return query.where(Lead.id != bindparam("lead_id")) if other else query


@cache
def _prefetch_query(by_email: bool, by_phone: bool, known: bool) -> Read:
    """Version, previous owner and the lead's past offers as rows; built once per shape."""
    head = select(
        version_query().scalar_subquery().label("version"),
        _previous_owner(by_email, by_phone, known).scalar_subquery().label("previous"),
    ).subquery()
    looked_back = and_(
        Offer.lead_id == bindparam("lead_id"), Offer.status.in_(constants(LOOKED_BACK))
    )
    query = select(
        head.c.version, head.c.previous, Offer.agent_id, Offer.status, Offer.withdrawn_reason
    ).select_from(head.outerjoin(Offer, looked_back if known else false()))
    return Read(query, query)


def _histories(rows: Iterable[tuple[str, str, str | None]]) -> dict[str, History]:
    seen: dict[str, set[str]] = defaultdict(set)
    for agent_id, status, withdrawn_reason in rows:
        seen[agent_id].add("reclaimed" if withdrawn_reason == "no_contact" else status)
    return {
        agent_id: History(
            declined="declined" in statuses,
            expired="expired" in statuses,
            reclaimed="reclaimed" in statuses,
        )
        for agent_id, statuses in seen.items()
    }
