"""A manager's corrections to coalescing: split an inquiry out, or merge two leads.

Both leave a journey event on each lead they touch, naming the manager.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import BadInput, Conflict
from backend.identity import coalescing
from backend.intake import service as intake
from backend.pursuit import service as pursuit
from backend.pursuit.models import Lead

logger = logging.getLogger(__name__)

CLOSED = ("won", "lost", "spam")


async def split_inquiry(
    session: AsyncSession, inquiry_id: str, actor: str, now: datetime | None = None
) -> Lead:
    """Take a wrongly coalesced inquiry off its lead: it becomes its own lead, routed anew."""
    now = now or utcnow()
    inquiry = await intake.get_inquiry(session, inquiry_id)
    if inquiry.lead_id is None:
        raise Conflict(f"Inquiry {inquiry_id} is not on a lead yet; there is nothing to split.")
    old = await pursuit.lock_lead(session, inquiry.lead_id)
    if len(await intake.inquiries_for_lead(session, old.id)) < 2:
        raise Conflict(f"Inquiry {inquiry_id} is the only one on its lead; it is already apart.")

    fields = await intake.fields_of_inquiry(session, inquiry)
    lead, _ = await pursuit.open_lead(session, fields, inquiry.received_at, now)
    inquiry.lead_id, inquiry.status = lead.id, "processed"
    await coalescing.move_keys(session, old.id, lead.id, inquiry_id=inquiry.id)
    moved = {"inquiry_id": inquiry.id, "to_lead_id": lead.id}
    pursuit.record_event(
        session, lead_id=old.id, type="inquiry_split", actor=actor, at=now, data=moved
    )
    came = {"inquiry_id": inquiry.id, "from_lead_id": old.id}
    pursuit.record_event(
        session, lead_id=lead.id, type="split_from", actor=actor, at=now, data=came
    )
    await session.commit()
    logger.info(
        "inquiry split inquiry_id=%s from_lead_id=%s lead_id=%s", inquiry.id, old.id, lead.id
    )
    return lead


async def merge_leads(
    session: AsyncSession,
    into_lead_id: str,
    from_lead_id: str,
    actor: str,
    now: datetime | None = None,
) -> Lead:
    """Move every inquiry of one lead onto another; the emptied lead ends as ``merged``."""
    now = now or utcnow()
    if into_lead_id == from_lead_id:
        raise BadInput("A lead cannot be merged into itself.", field="from_lead_id")
    # Locked in a fixed order, so two opposite merges cannot wait on each other.
    locked = {i: await pursuit.lock_lead(session, i) for i in sorted((into_lead_id, from_lead_id))}
    into, source = locked[into_lead_id], locked[from_lead_id]
    for lead in (into, source):
        if lead.status == "merged":
            raise Conflict(f"Lead {lead.id} was already merged into another lead.")
        if lead.status in CLOSED:
            raise Conflict(
                f"Lead {lead.id} is closed as {lead.status}: merging would hide its outcome or "
                "leave inquiries on a lead nobody pursues. Only open leads are merged."
            )

    inquiries = await intake.inquiries_for_lead(session, source.id)
    for inquiry in inquiries:
        inquiry.lead_id = into.id
    await coalescing.move_keys(session, source.id, into.id)
    await pursuit.close_as_merged(session, source, into.id, actor, now)
    data = {"from_lead_id": source.id, "inquiry_ids": [i.id for i in inquiries]}
    pursuit.record_event(
        session, lead_id=into.id, type="lead_merged", actor=actor, at=now, data=data
    )
    await session.commit()
    logger.info("leads merged lead_id=%s from_lead_id=%s", into.id, source.id)
    return into
