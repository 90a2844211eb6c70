"""Taking inquiries in: stored verbatim first, then normalized into a lead and routed."""

from __future__ import annotations

import logging
import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from babel.numbers import list_currencies
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import utcnow
from backend.errors import BadInput, NotFound
from backend.geo import service as geo
from backend.identity import coalescing
from backend.identity.service import country_code, iso_code, normalize_email, split_phone
from backend.intake.models import Inquiry, LeadValue
from backend.intake.schemas import LeadIn
from backend.pursuit import service as pursuit
from backend.pursuit.models import Lead, Offer

OPEN_STATUSES = ("routing", "offered", "accepted", "contacted", "unassigned")
CLOSED_STATUSES = ("won", "lost")
STALLED_AFTER = timedelta(minutes=2)  # an inquiry still "received" this long was interrupted
ROUTING_FAILED = "The inquiry was stored but routing it failed; retry it once the cause is fixed."
# Blank fields of an open lead that a repeat inquiry may fill in; nothing is overwritten.
FILLABLE = (
    "first_name", "last_name", "email", "phone", "phone_extension", "company", "city", "address",
)  # fmt: skip

CURRENCIES = frozenset(list_currencies())
logger = logging.getLogger(__name__)

FUTURE_SLACK = timedelta(minutes=5)
# Older than the product's earliest data by decades: such a time is a typo or a null date.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
TEXT_LIMITS = {
    "source": 100,
    "external_id": 200,
    "first_name": 200,
    "last_name": 200,
    "email": 320,
    "phone": 64,
    "company": 300,
    "region": 100,
    "city": 200,
    "address": 300,
    "postal_code": 20,
    "product": 100,
    "language": 16,
    "campaign": 200,
    "message": 10_000,
}


@dataclass
class IntakeResult:
    inquiry: Inquiry
    lead: Lead | None
    offer: Offer | None
    created: bool
    coalesced: bool = False
    # An answer given before: the same (source, external id) was submitted already.
    replayed: bool = False


VALUE_LIMIT = 1e12  # a trillion in any currency: beyond it a value is a typo, not a deal


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _check_sizes(data: LeadIn) -> None:
    if data.value is not None and data.value < 0:
        raise BadInput(f"value {data.value} must not be negative.", field="value")
    if data.value is not None and not (math.isfinite(data.value) and data.value <= VALUE_LIMIT):
        raise BadInput(
            f"value {data.value:g} is not a plausible deal size; the most is {VALUE_LIMIT:,.0f}.",
            field="value",
        )
    for key, limit in TEXT_LIMITS.items():
        text = getattr(data, key)
        if text is not None and len(text) > limit:
            raise BadInput(f"{key} is longer than {limit} characters.", field=key)
        if text is not None and (bad := control_character(text)):
            raise BadInput(
                f"{key} contains the control character U+{ord(bad):04X}; remove it and send it "
                "again.",
                field=key,
            )


def control_character(text: str) -> str | None:
    """The first control character in ``text`` other than a tab or a line break."""
    return next((c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"), None)


def printable(text: str) -> str:
    """``text`` without the control characters intake refuses, safe to show back."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc" or c in "\t\n\r")


def normalize(data: LeadIn) -> dict[str, Any]:
    """Check and tidy the inquiry's fields; raise BadInput naming the first wrong one."""
    source = _clean(data.source)
    if not source:
        raise BadInput(
            "source must name where the inquiry came from, such as 'web'.", field="source"
        )
    country = country_code(data.country)
    currency = iso_code(data.currency, 3, "currency", "BRL")
    if currency is not None and currency not in CURRENCIES:
        raise BadInput(
            f"currency {currency!r} is not an ISO 4217 currency code such as 'BRL' or 'EUR'.",
            field="currency",
        )
    _check_sizes(data)

    phone, extension = split_phone(data.phone, country)
    fields = {
        "source": source,
        "first_name": _clean(data.first_name),
        "last_name": _clean(data.last_name),
        "email": normalize_email(data.email),
        "phone": phone,
        "phone_extension": extension,
        "company": _clean(data.company),
        "country": country,
        "region": _clean(data.region),
        "city": _clean(data.city),
        "address": _clean(data.address),
        "postal_code": _clean(data.postal_code),
        "product": _clean(data.product),
        "language": (_clean(data.language) or "").lower() or None,
        "campaign": _clean(data.campaign),
        "message": _clean(data.message),
        "value": data.value,
        "currency": currency,
    }
    if not any(fields[k] for k in ("email", "phone", "company", "first_name", "last_name")):
        raise BadInput("An inquiry needs at least a name, a company, an email or a phone.")
    fields["latitude"], fields["longitude"] = _coordinates(data, fields)
    return fields


def _coordinates(data: LeadIn, fields: dict[str, Any]) -> tuple[float | None, float | None]:
    """The inquiry's own coordinates when it gives them, else those of its postal code or city."""
    if data.latitude is None and data.longitude is None:
        point = geo.resolve(
            fields["country"], fields["postal_code"], fields["city"], fields["region"]
        )
        return point or (None, None)
    if data.latitude is None or data.longitude is None:
        raise BadInput("Give latitude and longitude together.", field="latitude")
    for key, value, limit in (("latitude", data.latitude, 90), ("longitude", data.longitude, 180)):
        if not (math.isfinite(value) and -limit <= value <= limit):
            raise BadInput(f"{key} {value} must be between -{limit} and {limit}.", field=key)
    return data.latitude, data.longitude


async def expected_value(
    session: AsyncSession, source: str, product: str | None
) -> tuple[float, str] | None:
    """The configured value for the most specific (source, product) match."""
    rows = (await session.scalars(select(LeadValue))).all()
    best: tuple[int, LeadValue] | None = None
    for row in rows:
        if row.source not in (None, source) or row.product not in (None, product):
            continue
        rank = (row.source is not None) + (row.product is not None)
        if best is None or rank > best[0]:
            best = (rank, row)
    return (best[1].value, best[1].currency) if best else None


async def set_expected_value(
    session: AsyncSession,
    value: float,
    currency: str,
    source: str | None = None,
    product: str | None = None,
) -> LeadValue:
    row = await session.scalar(
        select(LeadValue)
        .where(LeadValue.source.is_(source) if source is None else LeadValue.source == source)
        .where(LeadValue.product.is_(product) if product is None else LeadValue.product == product)
    )
    if row is None:
        row = LeadValue(source=source, product=product, value=value, currency=currency)
        session.add(row)
    row.value, row.currency = value, currency
    await session.commit()
    return row


async def find_inquiry(session: AsyncSession, source: str, external_id: str) -> Inquiry | None:
    inquiry: Inquiry | None = await session.scalar(
        select(Inquiry).where(Inquiry.source == source, Inquiry.external_id == external_id)
    )
    return inquiry


async def _replay(session: AsyncSession, inquiry: Inquiry) -> IntakeResult:
    lead = await session.get(Lead, inquiry.lead_id) if inquiry.lead_id else None
    offer = await pursuit.current_offer(session, lead.id) if lead else None
    coalesced = inquiry.status == "coalesced"
    return IntakeResult(inquiry, lead, offer, created=False, coalesced=coalesced, replayed=True)


def _received_at(stated: datetime | None, arrived: datetime) -> datetime:
    """A backfilled inquiry keeps its own time; one without an offset is taken as UTC."""
    if stated is None:
        return arrived
    return check_received_at(stated, arrived)


def check_received_at(stated: datetime, arrived: datetime) -> datetime:
    """The stated time with UTC assumed when it has no offset; BadInput when implausible.

    Compared as given, never converted first: converting the year 1 or 9999 overflows.
    """
    if stated.tzinfo is None:
        stated = stated.replace(tzinfo=UTC)
    if stated < EARLIEST:
        raise BadInput(
            f"received_at {stated.isoformat()} is before {EARLIEST.date().isoformat()}; "
            "give the time the inquiry was really received.",
            field="received_at",
        )
    if stated > arrived + FUTURE_SLACK:
        raise BadInput(f"received_at {stated.isoformat()} is in the future.", field="received_at")
    return stated


async def submit_inquiry(
    session: AsyncSession, data: LeadIn, *, inlet: str = "api", now: datetime | None = None
) -> IntakeResult:
    """Store the inquiry, then open and route its lead; a replay answers the first result."""
    arrived = now or utcnow()
    fields = normalize(data)
    received_at = _received_at(data.received_at, arrived)
    external_id = _clean(data.external_id)
    if external_id and (found := await find_inquiry(session, fields["source"], external_id)):
        if found.lead_id is None and _interrupted(found, arrived):
            # A retry of an inquiry that was stored but failed: process it again.
            found.payload, found.status, found.error = msgspec.to_builtins(data), "received", None
            await session.commit()
            return await _open_lead(session, found, fields, now or utcnow())
        return await _replay(session, found)

    inquiry = Inquiry(
        source=fields["source"],
        external_id=external_id,
        inlet=inlet,
        payload=msgspec.to_builtins(data),
        received_at=received_at,
    )
    session.add(inquiry)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        found = await find_inquiry(session, fields["source"], external_id or "")
        if found is None:
            raise
        return await _replay(session, found)
    logger.info("inquiry stored inquiry_id=%s inlet=%s", inquiry.id, inlet)
    # Live traffic reads the clock again, so intake-to-offer time is measured, not assumed.
    return await _open_lead(session, inquiry, fields, now or utcnow())


async def route_again(
    session: AsyncSession, inquiry: Inquiry, data: LeadIn, *, now: datetime | None = None
) -> IntakeResult:
    """Route a failed inquiry once more as ``data`` says, keeping it the one inquiry.

    Its stored payload gains the lead body beside the raw fields it was kept as.
    """
    fields = normalize(data)
    external_id = _clean(data.external_id)
    if external_id:
        inquiry.source, inquiry.external_id = fields["source"], external_id
    payload = dict(inquiry.payload)
    body = msgspec.to_builtins(data)
    inquiry.payload = {**body, "raw": payload["raw"]} if "raw" in payload else body
    inquiry.status, inquiry.error = "received", None
    await session.commit()
    return await _open_lead(session, inquiry, fields, now or utcnow())


def _interrupted(inquiry: Inquiry, now: datetime) -> bool:
    """A stored inquiry without a lead is processed again if it failed or was cut off;
    one still being processed by a concurrent request is left to that request."""
    return inquiry.status == "failed" or inquiry.received_at <= now - STALLED_AFTER


async def _open_lead(
    session: AsyncSession, inquiry: Inquiry, fields: dict[str, Any], now: datetime
) -> IntakeResult:
    """Attach the inquiry to its prospect's open lead, or open and route a new lead."""
    inquiry_id, received_at = inquiry.id, inquiry.received_at
    try:
        keys = coalescing.keys_of(fields)
        await coalescing.lock_keys(session, keys)
        matches = await coalescing.find_prospects(session, keys, received_at - coalescing.window())
        open_lead, match, previous = await _placement(session, matches)
        if open_lead is not None and match is not None:
            result = await _coalesce(session, inquiry, open_lead, match, fields, now)
        else:
            await _set_value(session, fields)
            lead, offer = await pursuit.open_lead(
                session, fields, received_at, now, previous=_returning(previous, matches)
            )
            inquiry.lead_id, inquiry.status = lead.id, "processed"
            result = IntakeResult(inquiry, lead, offer, created=True)
        coalescing.file_keys(session, keys, inquiry.lead_id or "", inquiry_id, received_at)
        await session.commit()
    except Exception as exc:
        await session.rollback()
        await _mark_failed(session, inquiry_id, exc)
        raise
    return result


async def _set_value(session: AsyncSession, fields: dict[str, Any]) -> None:
    if fields["value"] is not None:
        fields["value_basis"] = "stated"
    elif configured := await expected_value(session, fields["source"], fields["product"]):
        fields["value"], configured_currency = configured
        fields["currency"] = fields["currency"] or configured_currency
        fields["value_basis"] = "expected"


async def _placement(
    session: AsyncSession, matches: list[coalescing.Match]
) -> tuple[Lead | None, coalescing.Match | None, Lead | None]:
    """The best-evidenced open lead and its match, else the latest closed lead."""
    if not matches:
        return None, None, None
    found = await session.scalars(select(Lead).where(Lead.id.in_([m.lead_id for m in matches])))
    leads = {lead.id: lead for lead in found.all()}
    for match in matches:
        lead = leads.get(match.lead_id)
        if lead is not None and lead.status in OPEN_STATUSES:
            return lead, match, None
    closed = [leads[m.lead_id] for m in matches if leads.get(m.lead_id)]
    closed = [lead for lead in closed if lead.status in CLOSED_STATUSES]
    return None, None, max(closed, key=lambda lead: lead.received_at, default=None)


def _returning(
    previous: Lead | None, matches: list[coalescing.Match]
) -> pursuit.ReturningProspect | None:
    if previous is None:
        return None
    match = next(m for m in matches if m.lead_id == previous.id)
    return pursuit.ReturningProspect(previous.id, previous.owner_id, match.evidence())


async def _coalesce(
    session: AsyncSession,
    inquiry: Inquiry,
    lead: Lead,
    match: coalescing.Match,
    fields: dict[str, Any],
    now: datetime,
) -> IntakeResult:
    for name in FILLABLE:
        if getattr(lead, name) is None and fields.get(name) is not None:
            setattr(lead, name, fields[name])
    inquiry.lead_id, inquiry.status = lead.id, "coalesced"
    data = {"inquiry_id": inquiry.id, "source": inquiry.source, "inlet": inquiry.inlet}
    offer = await pursuit.note_repeat_inquiry(session, lead, {**data, **match.evidence()}, now)
    logger.info(
        "inquiry coalesced inquiry_id=%s lead_id=%s keys=%s",
        inquiry.id,
        lead.id,
        ",".join(sorted(match.keys)),
    )
    return IntakeResult(inquiry, lead, offer, created=False, coalesced=True)


async def _mark_failed(session: AsyncSession, inquiry_id: str, exc: Exception) -> None:
    inquiry = await session.get(Inquiry, inquiry_id)
    if inquiry is not None:
        inquiry.status, inquiry.error = "failed", ROUTING_FAILED
        await session.commit()
    logger.error("inquiry failed inquiry_id=%s error=%s", inquiry_id, type(exc).__name__)


async def inquiries_for_lead(session: AsyncSession, lead_id: str) -> list[Inquiry]:
    query = select(Inquiry).where(Inquiry.lead_id == lead_id).order_by(Inquiry.received_at)
    return list((await session.scalars(query)).all())


async def fields_of_inquiry(session: AsyncSession, inquiry: Inquiry) -> dict[str, Any]:
    """The lead fields a stored inquiry makes, as intake made them, value included."""
    fields = normalize(msgspec.convert(inquiry.payload, LeadIn, strict=False))
    await _set_value(session, fields)
    return fields


async def get_inquiry(session: AsyncSession, inquiry_id: str) -> Inquiry:
    inquiry = await session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound(f"There is no inquiry {inquiry_id!r}.")
    return inquiry
