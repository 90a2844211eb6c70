"""The evidence behind pursuit scores: per agent, per team or partner, reachability, trend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, utcnow


class AgentEvidence(Base):
    """One agent's decayed statistics (``backend.scoring.model.Stats`` as JSON).

    ``misses`` counts expired offers and bounced notifications in a row; once it reaches
    the configured limit the agent is unreachable until a manager restores them.
    """

    __tablename__ = "agent_evidence"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    peer_group: Mapped[str] = mapped_column(String(48), index=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    misses: Mapped[int] = mapped_column(Integer, default=0)
    unreachable_since: Mapped[datetime | None]
    unreachable_reason: Mapped[str | None] = mapped_column(String(32))
    restored_at: Mapped[datetime | None]
    restored_by: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupEvidence(Base):
    """The pooled statistics of a team or partner company: the prior for its agents.

    ``key`` is ``team:<id>``, ``partner:<id>`` or ``everyone`` for agents in neither.
    """

    __tablename__ = "group_evidence"

    key: Mapped[str] = mapped_column(String(48), primary_key=True)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScoreSnapshot(Base):
    """An agent's score as it stood on one UTC day: the points of their trend.

    The score of a past instant cannot be recovered from decayed statistics, so it is
    kept; a later look on the same day replaces the day's row.
    """

    __tablename__ = "score_snapshots"

    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    observations: Mapped[int] = mapped_column(Integer, default=0)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
