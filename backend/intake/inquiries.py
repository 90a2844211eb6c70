"""Inquiries that did not become leads: failed, ignored or spam, kept with the reason.

Form posts, mails and CSV rows arrive as raw fields. When they cannot become a lead
body the raw fields are stored as an inquiry with payload ``{"raw": {...}}``, the
status and the reason, so nothing received is lost; a failed one can be retried once
its cause is fixed (a rule, an inlet's mapping or default country).
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import as_utc, utcnow
from backend.errors import BadInput, Conflict, NotFound, PursuitError, plain_problem
from backend.intake.models import Inquiry
from backend.intake.schemas import LeadIn
from backend.intake.service import (
    ROUTING_FAILED,
    IntakeResult,
    check_received_at,
    find_inquiry,
    normalize,
    route_again,
    submit_inquiry,
)

logger = logging.getLogger(__name__)

STATUSES = ("received", "processed", "coalesced", "failed", "ignored", "spam", "retried")
ERROR_LIMIT = 2000


@dataclass
class Received:
    """What became of one raw inquiry: routed (``result``), or stored with a ``problem``."""

    inquiry: Inquiry | None
    result: IntakeResult | None = None
    problem: str | None = None


def lead_in(body: dict[str, Any]) -> LeadIn:
    """A lead body as ``LeadIn``; BadInput with a sentence when a field has the wrong type."""
    try:
        return msgspec.convert(body, LeadIn)
    except msgspec.ValidationError as exc:
        raise BadInput(f"The inquiry is not valid: {plain_problem(str(exc))}.") from exc


def raw_text(content: bytes) -> dict[str, str]:
    """Bytes kept verbatim in JSON: as text when they are UTF-8, else base64."""
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def raw_bytes(kept: dict[str, str]) -> bytes:
    if "base64" in kept:
        return base64.b64decode(kept["base64"])
    return kept.get("text", "").encode("utf-8")


async def record_unrouted(
    session: AsyncSession,
    *,
    source: str,
    inlet: str,
    raw: dict[str, Any],
    status: str,
    reason: str,
    external_id: str | None = None,
    received_at: datetime | None = None,
) -> Inquiry:
    """Store raw fields that will not be routed; the same (source, external id) is kept once."""
    if external_id and (found := await find_inquiry(session, source, external_id)):
        return found
    inquiry = Inquiry(
        source=source[:100],
        external_id=external_id,
        inlet=inlet,
        payload={"raw": raw},
        received_at=received_at or utcnow(),
        status=status,
        error=reason[:ERROR_LIMIT],
    )
    session.add(inquiry)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        found = await find_inquiry(session, source, external_id or "")
        if found is None:
            raise
        return found
    logger.info("inquiry kept unrouted inquiry_id=%s inlet=%s status=%s", inquiry.id, inlet, status)
    return inquiry


async def take_in(
    session: AsyncSession, body: dict[str, Any], *, inlet: str, raw: dict[str, Any]
) -> Received:
    """Route a lead body through intake; when it cannot be, keep ``raw`` as a failed inquiry."""
    source = str(body.get("source") or inlet)
    external_id = body.get("external_id") if isinstance(body.get("external_id"), str) else None
    try:
        data = lead_in(body)
        normalize(data)
        _check_time(data)
    except BadInput as exc:
        failed = await record_unrouted(
            session,
            source=source,
            inlet=inlet,
            raw=raw,
            status="failed",
            reason=exc.message,
            external_id=external_id,
        )
        return Received(failed, problem=exc.message)
    return await _submit(session, data, inlet=inlet, raw=raw)


async def _submit(
    session: AsyncSession, data: LeadIn, *, inlet: str, raw: dict[str, Any]
) -> Received:
    """Intake stores the inquiry before routing it, so a refusal here has it stored already."""
    try:
        result = await submit_inquiry(session, data, inlet=inlet)
    except PursuitError as exc:
        return Received(await _stored(session, data), problem=exc.message)
    return Received(result.inquiry, result=result)


def _check_time(data: LeadIn) -> None:
    """Intake refuses an implausible time before it stores anything; refuse it here first."""
    if data.received_at is not None:
        check_received_at(data.received_at, utcnow())


async def _stored(session: AsyncSession, data: LeadIn) -> Inquiry | None:
    if not data.external_id:
        return None
    return await find_inquiry(session, data.source.strip(), data.external_id.strip())


async def get_inquiry(session: AsyncSession, inquiry_id: str) -> Inquiry:
    inquiry = await session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound(f"There is no inquiry {inquiry_id!r}.")
    return inquiry


async def list_inquiries(
    session: AsyncSession, status: str | None, limit: int = 50, cursor: str | None = None
) -> tuple[list[Inquiry], str | None]:
    """Newest first; ``cursor`` is the last answer's ``next_cursor``."""
    if status is not None and status not in STATUSES:
        raise BadInput(f"status {status!r} is not one of {', '.join(STATUSES)}.")
    if not 1 <= limit <= 500:
        raise BadInput(f"limit {limit} must be between 1 and 500.")
    query = select(Inquiry).order_by(Inquiry.received_at.desc(), Inquiry.id.desc())
    if status is not None:
        query = query.where(Inquiry.status == status)
    if cursor:
        at, inquiry_id = _cursor(cursor)
        query = query.where(
            or_(
                Inquiry.received_at < at,
                (Inquiry.received_at == at) & (Inquiry.id < inquiry_id),
            )
        )
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = f"{rows[-1].received_at.isoformat()}|{rows[-1].id}" if more else None
    return rows, next_cursor


def _cursor(cursor: str) -> tuple[datetime, str]:
    at, _, inquiry_id = cursor.partition("|")
    try:
        return as_utc(datetime.fromisoformat(at)), inquiry_id
    except ValueError as exc:
        raise BadInput(f"cursor {cursor!r} is not one this list gave out.") from exc


def inquiry_json(inquiry: Inquiry) -> dict[str, Any]:
    return {
        "id": inquiry.id,
        "source": inquiry.source,
        "external_id": inquiry.external_id,
        "inlet": inquiry.inlet,
        "status": inquiry.status,
        "reason": inquiry.error,
        "received_at": as_utc(inquiry.received_at).isoformat(),
        "lead_id": inquiry.lead_id,
        "payload": inquiry.payload,
    }


async def retry_inquiry(session: AsyncSession, inquiry_id: str) -> Received:
    """Run a failed inquiry through intake again, from what was stored, as the same inquiry.

    A failure that repeats keeps it failed with the new reason. When the retried body's
    (source, external id) is already another inquiry's, that one answers and this one is
    marked ``retried``.
    """
    inquiry = await get_inquiry(session, inquiry_id)
    if inquiry.status != "failed":
        raise Conflict(
            f"Inquiry {inquiry_id} is {inquiry.status}; only failed inquiries can be retried."
        )
    try:
        data = lead_in(await _rebuild(session, inquiry))
        normalize(data)
        _check_time(data)
    except BadInput as exc:
        inquiry.error = exc.message[:ERROR_LIMIT]
        await session.commit()
        logger.info("inquiry retry failed inquiry_id=%s", inquiry_id)
        return Received(inquiry, problem=exc.message)

    held = await _stored(session, data)
    if held is not None and held.id != inquiry_id:
        received = await _submit(session, data, inlet=inquiry.inlet, raw=inquiry.payload)
        inquiry.status, inquiry.error = "retried", f"Retried as inquiry {held.id}."
        await session.commit()
    else:
        received = await _route_again(session, inquiry, data)
    logger.info("inquiry retried inquiry_id=%s ok=%s", inquiry_id, received.problem is None)
    return received


async def _route_again(session: AsyncSession, inquiry: Inquiry, data: LeadIn) -> Received:
    """A refusal or a routing failure leaves the inquiry failed with a sentence, never a 500."""
    inquiry_id = inquiry.id
    try:
        result = await route_again(session, inquiry, data)
    except PursuitError as exc:
        kept = await get_inquiry(session, inquiry_id)
        kept.status, kept.error = "failed", exc.message[:ERROR_LIMIT]
        await session.commit()
        return Received(kept, problem=exc.message)
    except Exception:
        # Routing marked the inquiry failed and logged why; the caller gets the sentence.
        return Received(await get_inquiry(session, inquiry_id), problem=ROUTING_FAILED)
    return Received(result.inquiry, result=result)


async def _rebuild(session: AsyncSession, inquiry: Inquiry) -> dict[str, Any]:
    """The lead body again: parsed anew from raw fields, or as the API received it."""
    raw = inquiry.payload.get("raw")
    if not isinstance(raw, dict):
        return dict(inquiry.payload)
    from backend.intake import importer, inlets
    from backend.intake import mail as mail_inlet

    kind = raw.get("kind")
    if kind == "csv":
        source = str(raw.get("source") or inquiry.source)
        cells, field_map = dict(raw.get("cells", {})), dict(raw.get("field_map") or {})
        return importer.row_body(cells, source, raw.get("country"), field_map)
    try:
        inlet = await inlets.inlet_by_slug(session, str(raw.get("inlet")), kind)
    except NotFound as exc:
        raise Conflict(
            f"Inquiry {inquiry.id} came in by the {kind} inlet {raw.get('inlet')!r}, which is "
            "closed or gone; reopen it to retry."
        ) from exc
    if kind == "form":
        return inlets.map_fields(inlet, raw.get("fields", {}))
    if kind == "email":
        return mail_inlet.lead_body(inlet, raw_bytes(raw.get("mail", {})))
    raise BadInput(f"Inquiry {inquiry.id} was kept in a form that cannot be retried.")
