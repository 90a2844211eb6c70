"""Routing rules, the recorded decisions they produce, and rotation state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, IdMixin, utcnow
from backend.pursuit.models import Lead, Offer


class Rule(IdMixin, Base):
    __tablename__ = "rules"

    name: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer, default=100, index=True)
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    pool: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    strategy: Mapped[str] = mapped_column(String(32), default="round_robin")
    accept_timeout_s: Mapped[int] = mapped_column(Integer, default=900)
    contact_timeout_s: Mapped[int] = mapped_column(Integer, default=86400)
    escalate_to_rule_id: Mapped[str | None] = mapped_column(ForeignKey("rules.id"))
    performance_weighting: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(IdMixin, Base):
    """Why one routing step went where it went: rule, every candidate, the choice."""

    __tablename__ = "decisions"

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    trigger: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str | None] = mapped_column(ForeignKey("rules.id"))
    strategy: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id"))
    # Stored compactly (strategies.stored_records); read through strategies.shown_records.
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rules_tried: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")


class Rotation(Base):
    """When each agent last received a lead from a rule: round robin's memory."""

    __tablename__ = "rotations"

    rule_id: Mapped[str] = mapped_column(ForeignKey("rules.id"), primary_key=True)
    agent_id: Mapped[str] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    last_offered_at: Mapped[datetime]
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    pass_value: Mapped[float] = mapped_column(Float, default=0.0)


class RoutingState(Base):
    """One row: the roster version, replaced by triggers on every roster or rule write."""

    __tablename__ = "routing_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    roster_version: Mapped[str] = mapped_column(String(32))


# Counting an agent's open leads reads only these indexes: pending offers, then owned leads.
Index("ix_offers_status_agent", Offer.status, Offer.agent_id)
Index("ix_leads_owner_status", Lead.owner_id, Lead.status)
# Fair shares count the leads one rule offered in a rolling window.
Index("ix_offers_rule_offered", Offer.rule_id, Offer.offered_at)
