"""Pursuit scores kept up to date as a lead's life unfolds, and read when routing.

The lifecycle tells this module what happened, at the instant it happened:

- ``record_offer_outcome`` when an offer is accepted, declined or expires;
- ``record_contact`` on the first contact logged on an accepted lead, and
  ``record_missed_contact`` when the offer's contact deadline passes without one;
- ``record_outcome`` when won or lost is recorded, ``record_missing_outcome`` when the
  time for one runs out;
- ``record_notification_failure`` when a push or mail bounces or expires unopened.

Each updates the agent's evidence and that of their peer group (team, else partner
company) in O(1), inside the caller's transaction: none of them commits. Routing reads
``sample_scores`` (Thompson draws for the ``score`` strategy), ``scores_for`` (the
explained scores) and ``unreachable_agents`` (who must not be offered leads).
``restore_agent`` is the manager's one action and commits. ``own_score`` is what a
rep sees of their score; ``keep_snapshots`` and ``trends`` keep and read the daily
scores behind each agent's trend.
"""

from __future__ import annotations

import functools
import logging
import os
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import CompoundSelect, bindparam, literal_column, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from backend.db import as_utc
from backend.direct import IdList, Read
from backend.errors import BadInput, NotFound
from backend.roster import service as roster
from backend.scoring import advice, model
from backend.scoring.model import AgentScore, Prior, ScoringConfig, Stats
from backend.scoring.models import AgentEvidence, GroupEvidence, ScoreSnapshot

logger = logging.getLogger(__name__)


def config_from_env(environ: Mapping[str, str]) -> ScoringConfig:
    """Scoring settings from ``PURSUIT_SCORE_*`` variables; unset ones keep the defaults.

    ``PURSUIT_SCORE_HALF_LIFE_DAYS`` (30), ``PURSUIT_SCORE_WEIGHTS`` (parts to change,
    as ``contact_on_time=4,conversion=2``) and ``PURSUIT_SCORE_UNREACHABLE_AFTER`` (3).
    """
    changes: dict[str, Any] = {}
    try:
        if days := environ.get("PURSUIT_SCORE_HALF_LIFE_DAYS"):
            changes["half_life_s"] = float(days) * model.DAY_S
        if after := environ.get("PURSUIT_SCORE_UNREACHABLE_AFTER"):
            changes["unreachable_after_misses"] = int(after)
        if weights := environ.get("PURSUIT_SCORE_WEIGHTS"):
            pairs = (item.split("=", 1) for item in weights.split(",") if item.strip())
            changed = {name.strip(): float(value) for name, value in pairs}
            changes["weights"] = {**model.DEFAULT_WEIGHTS, **changed}
        return ScoringConfig(**changes)
    except ValueError as exc:
        raise ValueError(f"PURSUIT_SCORE_* settings are not usable: {exc}.") from exc


DEFAULT_CONFIG = config_from_env(os.environ)
EVERYONE = "everyone"
REASONS = ("offers_expired", "notifications_bounced", "manager")


@dataclass(frozen=True)
class Reachability:
    """Where an agent stands: misses in a row, and since when (if ever) unreachable.

    ``became_unreachable`` is true only on the event that crossed the limit: that is
    when the agent's managers should be told.
    """

    agent_id: str
    misses: int
    unreachable_since: datetime | None
    reason: str | None
    became_unreachable: bool = False

    @property
    def reachable(self) -> bool:
        return self.unreachable_since is None


@dataclass(frozen=True)
class Standing:
    agent_id: str
    name: str
    score: AgentScore
    reach: Reachability


def _seconds(moment: datetime) -> float:
    return as_utc(moment).timestamp()


def peer_group(team_id: str | None, partner_id: str | None) -> str:
    """Whose average a newcomer is shrunk toward: the team, else the partner company."""
    if team_id:
        return f"team:{team_id}"
    if partner_id:
        return f"partner:{partner_id}"
    return EVERYONE


def _insert_for(session: AsyncSession) -> Callable[[Any], Any]:
    """The dialect's INSERT, which knows ON CONFLICT: SQLite and PostgreSQL spell it alike."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert
    return postgresql.insert


async def _locked(session: AsyncSession, table: Any, key: Any, values: dict[str, Any]) -> Any:
    """The row with primary key ``key``, created from ``values`` first if missing, locked.

    SQLite needs no row lock: every transaction there begins ``IMMEDIATE``.
    """
    column = next(iter(table.__table__.primary_key.columns))
    insert = _insert_for(session)(table).values({column.name: key, **values})
    await session.execute(insert.on_conflict_do_nothing(index_elements=[column.name]))
    query = select(table).where(column == key).with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))


async def _evidence(session: AsyncSession, agent_id: str, at: datetime) -> AgentEvidence:
    agent = await roster.get_agent(session, agent_id)
    group = peer_group(agent.team_id, agent.partner_id)
    fresh = {"peer_group": group, "stats": {}, "misses": 0, "updated_at": at}
    row: AgentEvidence = await _locked(session, AgentEvidence, agent_id, fresh)
    row.peer_group = group
    return row


async def _learn(
    session: AsyncSession,
    agent_id: str,
    at: datetime,
    update: Callable[[Stats], None],
) -> AgentEvidence:
    """Apply one observation to the agent's evidence and to their peer group's."""
    row = await _evidence(session, agent_id, at)
    group: GroupEvidence = await _locked(
        session, GroupEvidence, row.peer_group, {"stats": {}, "updated_at": at}
    )
    for holder in (row, group):
        stats = Stats.from_json(holder.stats)
        update(stats)
        holder.stats, holder.updated_at = stats.as_json(), at
    await session.flush()
    return row


def _reachability(row: AgentEvidence | None, agent_id: str, crossed: bool = False) -> Reachability:
    if row is None:
        return Reachability(agent_id, 0, None, None)
    return Reachability(
        agent_id, row.misses, row.unreachable_since, row.unreachable_reason, crossed
    )


def _miss(row: AgentEvidence, at: datetime, reason: str, config: ScoringConfig) -> Reachability:
    since = row.unreachable_since
    before = model.Reach(row.misses, None if since is None else _seconds(since))
    after = before.missed(_seconds(at), config)
    row.misses = after.misses
    crossed = before.reachable and not after.reachable
    if crossed:
        row.unreachable_since, row.unreachable_reason = at, reason
        logger.warning(
            "agent unreachable agent_id=%s reason=%s misses=%d", row.agent_id, reason, row.misses
        )
    return _reachability(row, row.agent_id, crossed)


async def record_offer_outcome(
    session: AsyncSession,
    agent_id: str,
    outcome: str,
    offered_at: datetime,
    at: datetime,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> Reachability:
    """An offer was ``accepted``, ``declined`` or ``expired`` at ``at``.

    An answer ends the agent's run of misses; an expiry extends it, and the expiry that
    reaches the limit marks the agent unreachable (``became_unreachable``).
    """
    if outcome not in model.OFFER_OUTCOMES:
        raise BadInput(f"Offer outcome {outcome!r} is not accepted, declined or expired.")
    start, end = _seconds(offered_at), _seconds(at)
    row = await _learn(
        session,
        agent_id,
        at,
        lambda s: model.observe_offer(s, outcome, start, end, config),
    )
    if outcome == "expired":
        return _miss(row, at, "offers_expired", config)
    row.misses = 0
    return _reachability(row, agent_id)


async def record_contact(
    session: AsyncSession,
    agent_id: str,
    accepted_at: datetime,
    at: datetime,
    due_at: datetime,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> None:
    """The first contact on a lead the agent accepted at ``accepted_at``, due by ``due_at``."""
    start, end, due = _seconds(accepted_at), _seconds(at), _seconds(due_at)
    await _learn(session, agent_id, at, lambda s: model.observe_contact(s, start, end, due, config))


async def record_missed_contact(
    session: AsyncSession, agent_id: str, at: datetime, config: ScoringConfig = DEFAULT_CONFIG
) -> None:
    """The contact deadline of a lead the agent accepted passed without a contact."""
    end = _seconds(at)
    await _learn(session, agent_id, at, lambda s: model.observe_missed_contact(s, end, config))


async def record_outcome(
    session: AsyncSession,
    agent_id: str,
    won: bool,
    at: datetime,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> None:
    end = _seconds(at)
    await _learn(session, agent_id, at, lambda s: model.observe_outcome(s, won, end, config))


async def record_missing_outcome(
    session: AsyncSession, agent_id: str, at: datetime, config: ScoringConfig = DEFAULT_CONFIG
) -> None:
    """An accepted lead's time for an outcome ran out without one being recorded."""
    end = _seconds(at)
    await _learn(session, agent_id, at, lambda s: model.observe_missing_outcome(s, end, config))


async def record_notification_failure(
    session: AsyncSession, agent_id: str, at: datetime, config: ScoringConfig = DEFAULT_CONFIG
) -> Reachability:
    """A notification to the agent bounced or expired unopened: a miss, like an expiry."""
    end = _seconds(at)
    row = await _learn(
        session, agent_id, at, lambda s: model.observe_notification_failure(s, end, config)
    )
    return _miss(row, at, "notifications_bounced", config)


async def mark_unreachable(
    session: AsyncSession, agent_id: str, at: datetime, reason: str = "manager"
) -> Reachability:
    """Stop offering the agent leads until restored; a no-op when already unreachable."""
    if reason not in REASONS:
        raise BadInput(f"Reason {reason!r} is not one of {', '.join(REASONS)}.", field="reason")
    row = await _evidence(session, agent_id, at)
    crossed = row.unreachable_since is None
    if crossed:
        row.unreachable_since, row.unreachable_reason = at, reason
        logger.info("agent marked unreachable agent_id=%s reason=%s", agent_id, reason)
    await session.flush()
    return _reachability(row, agent_id, crossed)


async def restore_agent(
    session: AsyncSession, agent_id: str, at: datetime, by: str
) -> Reachability:
    """The manager's action: the agent is reachable again with a clean run. Commits."""
    row = await session.get(AgentEvidence, agent_id, with_for_update=True)
    if row is None:
        await roster.get_agent(session, agent_id)
        return _reachability(None, agent_id)
    if row.unreachable_since is not None:
        row.restored_at, row.restored_by = at, by
    row.misses, row.unreachable_since, row.unreachable_reason = 0, None, None
    await session.commit()
    logger.info("agent restored agent_id=%s by=%s", agent_id, by)
    return _reachability(row, agent_id)


async def reachability(session: AsyncSession, agent_ids: Iterable[str]) -> dict[str, Reachability]:
    ids = list(dict.fromkeys(agent_ids))
    rows = await _rows(session, ids)
    return {i: _reachability(rows.get(i), i) for i in ids}


# Agents' own evidence and their peer groups' pooled evidence, in one read.
def _evidence_of(ids: IdList) -> CompoundSelect[Any]:
    return union_all(
        select(literal_column("'agent'"), AgentEvidence.agent_id, AgentEvidence.stats).where(
            AgentEvidence.agent_id.in_(ids("agent_ids"))
        ),
        select(literal_column("'group'"), GroupEvidence.key, GroupEvidence.stats).where(
            GroupEvidence.key.in_(ids("group_keys"))
        ),
    )


EVIDENCE = Read.of(_evidence_of, "agent_ids", "group_keys")
UNREACHABLE = select(AgentEvidence.agent_id).where(
    AgentEvidence.agent_id.in_(bindparam("agent_ids", expanding=True)),
    AgentEvidence.unreachable_since.is_not(None),
)


async def unreachable_agents(session: AsyncSession, agent_ids: Iterable[str]) -> set[str]:
    """Of ``agent_ids``, those routing must skip until a manager restores them."""
    ids = list(dict.fromkeys(agent_ids))
    if not ids:
        return set()
    return set((await session.scalars(UNREACHABLE, {"agent_ids": ids})).all())


async def _rows(session: AsyncSession, agent_ids: list[str]) -> dict[str, AgentEvidence]:
    if not agent_ids:
        return {}
    query = select(AgentEvidence).where(AgentEvidence.agent_id.in_(agent_ids))
    return {row.agent_id: row for row in (await session.scalars(query)).all()}


Affiliations = dict[str, tuple[str | None, str | None]]
Evidence = TypeVar("Evidence")


async def _inputs(
    session: AsyncSession,
    agent_ids: list[str],
    now: datetime,
    config: ScoringConfig,
    known: Affiliations | None = None,
) -> dict[str, tuple[Stats | None, Prior]]:
    """Each agent's evidence and the prior of their current peer group.

    ``known`` gives agents' teams and partner companies when the caller has them already.
    """
    stats, priors = await _stored_inputs(session, agent_ids, now, config, _stats, known)
    return {i: (s, p) for i, s, p in zip(agent_ids, stats, priors, strict=True)}


def _stats(data: dict[str, Any] | None) -> Stats | None:
    return None if data is None else Stats.from_json(data)


async def _stored_inputs(
    session: AsyncSession,
    agent_ids: list[str],
    now: datetime,
    config: ScoringConfig,
    read: Callable[[dict[str, Any] | None], Evidence],
    known: Affiliations | None = None,
) -> tuple[list[Evidence], list[Prior]]:
    """Each agent's evidence, as ``read`` makes it of what is stored (None: no history), and
    the prior of their peer group (one object per group), in the order of ``agent_ids``.

    ``read`` sees each agent's statistics as they are fetched: holding a whole pool's
    decoded JSON at once would wake the garbage collector on every routing decision.
    """
    if known is None or not known.keys() >= set(agent_ids):
        known = await roster.affiliations(session, agent_ids)
        if not known.keys() >= set(agent_ids):
            missing = next(i for i in agent_ids if i not in known)
            raise NotFound(f"Agent {missing} does not exist.")
    groups = [peer_group(*known[i]) for i in agent_ids]
    own: dict[str, Evidence] = {}
    pooled: dict[str, Stats] = {}
    if agent_ids:
        values = {"agent_ids": agent_ids, "group_keys": sorted(set(groups))}
        for kind, key, evidence in await session.run_sync(_evidence_rows, values, read):
            if kind == "agent":
                own[key] = evidence
            else:
                pooled[key] = evidence
    moment = _seconds(now)
    priors = {g: model.team_prior(pooled.get(g), moment, config) for g in set(groups)}
    nothing = read(None)
    return [own.get(i, nothing) for i in agent_ids], list(map(priors.__getitem__, groups))


def _evidence_rows(
    session: Session, values: dict[str, Any], read: Callable[[dict[str, Any] | None], Any]
) -> list[tuple[str, str, Any]]:
    """(kind, key, evidence) rows, each agent's statistics made by ``read`` as its row is
    fetched and each group's as ``Stats``."""

    if session.autoflush:
        session.flush()  # as a query through the session would; a clean session returns at once

    def made(row: tuple[str, str, Any]) -> tuple[str, str, Any]:
        kind, key, stats = row
        return kind, key, read(stats) if kind == "agent" else Stats.from_json(stats)

    return EVIDENCE.rows(session.connection(), values, made)


async def scores_for(
    session: AsyncSession,
    agent_ids: Iterable[str],
    now: datetime,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> dict[str, AgentScore]:
    """Each agent's score at ``now`` with its explanation; unknown ids raise NotFound."""
    ids = list(dict.fromkeys(agent_ids))
    inputs = await _inputs(session, ids, now, config)
    moment = _seconds(now)
    return {i: model.explain(stats, prior, moment, config) for i, (stats, prior) in inputs.items()}


async def sample_scores(
    session: AsyncSession,
    agent_ids: Iterable[str],
    now: datetime,
    rng: random.Random,
    config: ScoringConfig = DEFAULT_CONFIG,
    known: Affiliations | None = None,
) -> dict[str, float]:
    """One Thompson draw (0 to 100) per agent, drawn in the order of ``agent_ids``.

    ``known`` gives agents' teams and partner companies when the caller has them already.
    """
    ids, moment = list(dict.fromkeys(agent_ids)), _seconds(now)
    read = functools.partial(model.evidence_row, now=moment)
    rows, priors = await _stored_inputs(session, ids, now, config, read, known)
    return dict(zip(ids, model.sample_rows(rows, priors, moment, config, rng), strict=True))


async def leaderboard(
    session: AsyncSession,
    now: datetime,
    *,
    team_id: str | None = None,
    partner_id: str | None = None,
    config: ScoringConfig = DEFAULT_CONFIG,
) -> list[Standing]:
    """Active agents of a team or partner company (or everyone), best score first."""
    agents = [
        a
        for a in await roster.list_agents(session)
        if a.active
        and (team_id is None or a.team_id == team_id)
        and (partner_id is None or a.partner_id == partner_id)
    ]
    ids = [a.id for a in agents]
    scores = await scores_for(session, ids, now, config)
    reach = await reachability(session, ids)
    board = [Standing(a.id, a.name, scores[a.id], reach[a.id]) for a in agents]
    return sorted(board, key=lambda s: (-s.score.score, s.name, s.agent_id))


@dataclass(frozen=True)
class OwnScore:
    """A rep's score and, in plain words, the parts that cost it most."""

    score: AgentScore
    tips: list[str]
    peer_group: str = EVERYONE

    @property
    def has_history(self) -> bool:
        return self.score.observations > 0

    @property
    def peers_average(self) -> str:
        """Whose average the score starts from, as the rep would say it."""
        kind = self.peer_group.split(":", 1)[0]
        whose = {"team": "your team's", "partner": "your company's"}.get(kind, "all reps'")
        return f"{whose} average"


async def own_score(
    session: AsyncSession, agent_id: str, now: datetime, config: ScoringConfig = DEFAULT_CONFIG
) -> OwnScore:
    """The agent's score at ``now``; with no history, the team prior and no tips."""
    agent = await roster.get_agent(session, agent_id)
    ((stats, prior),) = (await _inputs(session, [agent.id], now, config)).values()
    scored = model.explain(stats, prior, _seconds(now), config)
    seen = stats.as_of(_seconds(now), config) if stats is not None else None
    group = peer_group(agent.team_id, agent.partner_id)
    return OwnScore(scored, advice.tips(scored, seen, config), group)


@dataclass(frozen=True)
class TrendPoint:
    """An agent's score on ``day``, or ``None`` when none was kept that week."""

    day: date
    score: float | None


async def keep_snapshots(
    session: AsyncSession, scores: Mapping[str, AgentScore], now: datetime
) -> None:
    """Keep each score as its agent's snapshot for the UTC day of ``now``. Commits."""
    if not scores:
        return
    day, at = as_utc(now).date(), as_utc(now)
    rows = [
        {
            "agent_id": i,
            "day": day,
            "score": s.score,
            "observations": s.observations,
            "taken_at": at,
        }
        for i, s in scores.items()
    ]
    insert = _insert_for(session)(ScoreSnapshot).values(rows)
    kept = {name: insert.excluded[name] for name in ("score", "observations", "taken_at")}
    await session.execute(
        insert.on_conflict_do_update(index_elements=["agent_id", "day"], set_=kept)
    )
    await session.commit()


async def keep_daily_snapshots(session: AsyncSession, now: datetime) -> int:
    """Keep today's score of every active agent, so each week of a trend has a point."""
    board = await leaderboard(session, now)
    await keep_snapshots(session, {s.agent_id: s.score for s in board}, now)
    return len(board)


async def trends(
    session: AsyncSession, agent_ids: Iterable[str], now: datetime, weeks: int = 4
) -> dict[str, list[TrendPoint]]:
    """Each agent's score 4, 3, 2 and 1 weeks before ``now`` (for ``weeks`` 4), oldest first.

    A week's point is the latest snapshot kept in the seven days up to it.
    """
    ids = list(dict.fromkeys(agent_ids))
    today = as_utc(now).date()
    days = [today - timedelta(weeks=w) for w in range(weeks, 0, -1)]
    query = select(ScoreSnapshot).where(
        ScoreSnapshot.agent_id.in_(ids),
        ScoreSnapshot.day > days[0] - timedelta(days=7),
        ScoreSnapshot.day <= days[-1],
    )
    kept: dict[str, dict[date, float]] = {i: {} for i in ids}
    for row in (await session.scalars(query)).all():
        kept[row.agent_id][row.day] = row.score
    return {i: [_point(kept[i], day) for day in days] for i in ids}


def _point(kept: Mapping[date, float], day: date) -> TrendPoint:
    week = [d for d in kept if day - timedelta(days=7) < d <= day]
    return TrendPoint(day, kept[max(week)] if week else None)
