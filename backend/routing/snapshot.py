"""The roster and rules as of one roster version, kept in process between decisions.

Triggers replace the version in ``routing_state`` on every write to agents, teams,
partners or rules, from any process and any statement. A decision reads the version in
its own transaction and reuses the engine's snapshot only when the versions agree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.roster.models import Agent, Partner
from backend.routing.models import RoutingState, Rule
from backend.routing.records import AGENT_COLUMNS, RULE_COLUMNS, RosterAgent, RoutingRule

POOL_KEYS = ("agent_ids", "team_ids", "partner_ids")
STATE_ROW = 1
AGENTS = select(*(getattr(Agent, name) for name in AGENT_COLUMNS))
RULES = select(*(getattr(Rule, name) for name in RULE_COLUMNS))


@dataclass
class Snapshot:
    """Agents, rules and partner shares at one roster version, as immutable records.

    Shared by every decision that reads this version; its pools are worked out on first use.
    """

    version: str
    agents: dict[str, RosterAgent]
    rules: dict[str, RoutingRule]
    fair_shares: dict[str, float]
    active_rules: list[RoutingRule] = field(init=False)
    _pools: dict[tuple[tuple[str, ...], ...], list[RosterAgent]] = field(init=False, repr=False)
    _groups: dict[tuple[str, str], list[RosterAgent]] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        active = [r for r in self.rules.values() if r.active]
        self.active_rules = sorted(active, key=lambda r: (r.priority, r.created_at))
        self._pools = {}
        self._groups = None

    def pool(self, pool: dict[str, Any]) -> list[RosterAgent]:
        """Everyone a pool names directly or through a team or partner, oldest first.

        The list is kept and shared between decisions: read it, never change it.
        """
        key = tuple(tuple(pool.get(k) or ()) for k in POOL_KEYS)
        found = self._pools.get(key)
        if found is None:
            found = self._pools[key] = self._members(*(set(ids) for ids in key))
        return found

    def _members(
        self, agent_ids: set[str], team_ids: set[str], partner_ids: set[str]
    ) -> list[RosterAgent]:
        groups = self._by_group()
        members = {i: self.agents[i] for i in agent_ids if i in self.agents}
        for kind, ids in (("team", team_ids), ("partner", partner_ids)):
            members.update((a.id, a) for i in ids for a in groups.get((kind, i), ()))
        return sorted(members.values(), key=lambda a: (a.created_at, a.id))

    def _by_group(self) -> dict[tuple[str, str], list[RosterAgent]]:
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
    """Plain rows, never a session's mapped objects, so no decision shares one with a session."""
    agents = [RosterAgent.from_row(row) for row in (await session.execute(AGENTS)).mappings()]
    rules = [RoutingRule.from_row(row) for row in (await session.execute(RULES)).mappings()]
    shares = await session.execute(select(Partner.id, Partner.fair_share))
    return Snapshot(
        version, {a.id: a for a in agents}, {r.id: r for r in rules}, dict(shares.tuples().all())
    )
