"""The write-back outbox, filled by a session listener.

Every lead event flushed for a lead linked to a connection (or for any lead, when a
connection syncs all) adds an outbox row in the same transaction, so a committed state
change always has its write-back waiting. Imported with the ``backend.crm`` package, so
any process that loads the models fills it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.event import listens_for
from sqlalchemy.orm import Session, UOWTransaction

from backend.crm.models import CrmConnection, CrmLink, CrmOutboxItem
from backend.direct import run
from backend.inserts import after_insert_new
from backend.pursuit.models import Lead, LeadEvent

# Lead events that change what the CRM shows; journey-only events wait for the next one.
SYNCED_EVENTS = frozenset(
    {
        "received",
        "offered",
        "accepted",
        "declined",
        "expired",
        "withdrawn",
        "unassigned",
        "activity",
        "contacted",
        "won",
        "lost",
    }
)
# Built once and run on the flush's connection: it is read on every flush with lead events.
ACTIVE_CONNECTIONS = select(CrmConnection.id, CrmConnection.sync_all).where(CrmConnection.active)


@listens_for(Session, "before_flush")
def _enqueue_write_backs(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    _enqueue(session, list(session.new))


@after_insert_new
def _enqueue_for_inserted(session: Session, objects: Sequence[Any]) -> None:
    _enqueue(session, objects)


def _enqueue(session: Session, new: Sequence[Any]) -> None:
    """Outbox rows for the leads whose new events the CRM would show."""
    lead_ids = {
        event.lead_id
        for event in new
        if isinstance(event, LeadEvent) and event.type in SYNCED_EVENTS
    }
    if not lead_ids:
        return
    with session.no_autoflush:
        connections = run(session.connection(), ACTIVE_CONNECTIONS, {})
        if not connections:
            return
        pairs = {(c_id, lead) for c_id, sync_all in connections if sync_all for lead in lead_ids}
        linked = session.execute(
            select(CrmLink.connection_id, CrmLink.lead_id).where(
                CrmLink.lead_id.in_(lead_ids),
                CrmLink.connection_id.in_([c_id for c_id, _ in connections]),
            )
        ).all()

    pairs |= {(row.connection_id, row.lead_id) for row in linked}
    last = {e.lead_id: e.type for e in new if isinstance(e, LeadEvent)}
    # A lead still to be flushed goes out first because the item holds it, not its id.
    unwritten = {lead.id: lead for lead in session.new if isinstance(lead, Lead)}
    for connection_id, lead_id in sorted(pairs):
        item = CrmOutboxItem(connection_id=connection_id, lead_id=lead_id, event_type=last[lead_id])
        if lead_id in unwritten:
            item.lead = unwritten[lead_id]
        session.add(item)
