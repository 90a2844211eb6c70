"""The audit log: every change to the roster, rules, leads and users, with before and after.

Callers add the entry to the session that makes the change, before it commits, so the
change and its record are kept or lost together.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.models import ApiKey, AuditEntry
from backend.db import as_utc

if TYPE_CHECKING:
    from backend.access.service import Actor

logger = logging.getLogger(__name__)

ENTITIES = ("agent", "team", "partner", "rule", "lead", "user", "partner_link")
PAGE_SIZE = 200
SKIPPED = frozenset({"created_at", "password_hash", "token_hash"})
CSV_COLUMNS = ("at", "actor", "entity", "entity_id", "action", "before", "after")


def snapshot(row: Any) -> dict[str, Any]:
    """A row's columns as JSON values; secrets and bookkeeping are left out."""
    values: dict[str, Any] = {}
    for column in inspect(row).mapper.column_attrs:
        if column.key in SKIPPED:
            continue
        value = getattr(row, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime | date) else value
    return values


async def record_change(
    session: AsyncSession,
    actor: str,
    entity: str,
    entity_id: str,
    action: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add one entry to the caller's transaction; only the fields that changed are kept."""
    if before is not None and after is not None:
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        if not changed:
            return
        before = {k: v for k, v in before.items() if k in changed}
        after = {k: v for k, v in after.items() if k in changed}
    session.add(
        AuditEntry(
            actor=actor[:120],
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=before,
            after=after,
        )
    )
    logger.info("audit entry entity=%s entity_id=%s action=%s", entity, entity_id, action)


async def actor_label(session: AsyncSession, actor: Actor) -> str:
    """How an API caller is named in the log: ``api:<key name>`` or ``agent:<id>``."""
    if actor.kind == "api_key":
        key = await session.get(ApiKey, actor.id)
        return f"api:{key.name if key else actor.id}"
    return actor.label


@dataclass(frozen=True)
class AuditFilter:
    entity: str | None = None
    entity_id: str | None = None
    actor: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive: the whole last day counts


async def entries(
    session: AsyncSession, chosen: AuditFilter, limit: int | None = PAGE_SIZE
) -> list[AuditEntry]:
    """Newest first."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if chosen.entity:
        query = query.where(AuditEntry.entity == chosen.entity)
    if chosen.entity_id:
        query = query.where(AuditEntry.entity_id == chosen.entity_id)
    if chosen.actor:
        query = query.where(AuditEntry.actor == chosen.actor)
    if chosen.since:
        query = query.where(AuditEntry.at >= as_utc(datetime.combine(chosen.since, time())))
    if chosen.until:
        end = datetime.combine(chosen.until + timedelta(days=1), time())
        query = query.where(AuditEntry.at < as_utc(end))
    if limit is not None:
        query = query.limit(limit)
    return list((await session.scalars(query)).all())


def as_csv(rows: list[AuditEntry]) -> str:
    """One line per entry; before and after as JSON text in their own cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                as_utc(row.at).isoformat(),
                _cell(row.actor),
                row.entity,
                row.entity_id,
                row.action,
                _cell(json.dumps(row.before, sort_keys=True, ensure_ascii=False)),
                _cell(json.dumps(row.after, sort_keys=True, ensure_ascii=False)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """A cell a spreadsheet would run as a formula gets a leading quote."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
