"""The roster and rules as of one roster version, kept in process between decisions.

Triggers replace the version in ``routing_state`` on every write to agents, teams,
partners or rules, from any process and any statement. A decision reads the version in
its own transaction and reuses the engine's snapshot only when the versions agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Select, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.roster.models import Agent, Partner
from backend.routing.eligibility import AgentProfile
from backend.routing.models import RoutingState, Rule

POOL_KEYS = ("agent_ids", "team_ids", "partner_ids")
STATE_ROW = 1
Row = TypeVar("Row", Agent, Rule)


@dataclass
class Snapshot:
    """Agents, rules and partner shares at one roster version.

    Its agents and rules belong to no session and are shared by every decision that
    reads this version: treat them as read-only and never add them to a session.
    """

    version: str
    agents: dict[str, Agent]
    rules: dict[str, Rule]
    fair_shares: dict[str, float]
    active_rules: list[Rule] = field(init=False)
    _pools: dict[tuple[tuple[str, ...], ...], list[Agent]] = field(init=False, repr=False)
    _profiles: dict[str, AgentProfile] = field(init=False, repr=False)
    _groups: dict[tuple[str, str], list[Agent]] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        active = [r for r in self.rules.values() if r.active]
        self.active_rules = sorted(active, key=lambda r: (r.priority, r.created_at))
        self._pools = {}
        self._profiles = {}
        self._groups = None

    def profile(self, agent: Agent) -> AgentProfile:
        """The agent's parsed eligibility facts, kept from first use for this snapshot's agents."""
        found = self._profiles.get(agent.id)
        if found is None:
            if self.agents.get(agent.id) is not agent:
                return AgentProfile.of(agent)
            found = self._profiles[agent.id] = AgentProfile.of(agent)
        return found

    def pool(self, pool: dict[str, Any]) -> list[Agent]:
        """Everyone a pool names directly or through a team or partner, oldest first."""
        key = tuple(tuple(pool.get(k) or ()) for k in POOL_KEYS)
        found = self._pools.get(key)
        if found is None:
            found = self._pools[key] = self._members(*(set(ids) for ids in key))
        return found

    def _members(
        self, agent_ids: set[str], team_ids: set[str], partner_ids: set[str]
    ) -> list[Agent]:
        groups = self._by_group()
        members = {i: self.agents[i] for i in agent_ids if i in self.agents}
        for kind, ids in (("team", team_ids), ("partner", partner_ids)):
            members.update((a.id, a) for i in ids for a in groups.get((kind, i), ()))
        return sorted(members.values(), key=lambda a: (a.created_at, a.id))

    def _by_group(self) -> dict[tuple[str, str], list[Agent]]:
        """Agents by team and by partner company, so a pool costs its size, not the roster's."""
        if self._groups is None:
            self._groups = defaultdict(list)
            for agent in self.agents.values():
                if agent.team_id is not None:
                    self._groups["team", agent.team_id].append(agent)
                if agent.partner_id is not None:
                    self._groups["partner", agent.partner_id].append(agent)
        return self._groups


_kept: WeakKeyDictionary[Engine, Snapshot] = WeakKeyDictionary()


def version_query() -> Select[tuple[str]]:
    return select(RoutingState.roster_version).where(RoutingState.id == STATE_ROW)


async def snapshot(session: AsyncSession, version: str | None) -> Snapshot:
    """The engine's kept snapshot if it is at ``version``, otherwise one read afresh.

    ``version`` must be read before this is called: rows changed in between are kept
    under the older version and read again by the next decision, never missed. Without
    a version row nothing is kept.
    """
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    kept = _kept.get(engine)
    if version is not None and kept is not None and kept.version == version:
        return kept
    fresh = await _read(session, version or "")
    if version is not None:
        _kept[engine] = fresh
    return fresh


async def _read(session: AsyncSession, version: str) -> Snapshot:
    agents = await _rows(session, Agent)
    rules = await _rows(session, Rule)
    shares = await session.execute(select(Partner.id, Partner.fair_share))
    return Snapshot(
        version, {a.id: a for a in agents}, {r.id: r for r in rules}, dict(shares.tuples().all())
    )


async def _rows(session: AsyncSession, model: type[Row]) -> list[Row]:
    """Every row of a table as new objects, so no session's pending changes leak in."""
    columns = [getattr(model, attr.key) for attr in inspect(model).column_attrs]
    rows = await session.execute(select(*columns))
    return [model(**row) for row in rows.mappings().all()]
