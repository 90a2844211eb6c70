"""CRM connections, lead links, the write-back outbox and inbound CRM records.

The outbox is filled in ``backend.crm.outbox``, in the transaction of the change itself;
this module claims, finishes, fails and retries its rows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crm import hubspot, salesforce
from backend.crm.connectors import ActivityFact, Connector, LeadFacts, Record
from backend.crm.models import CrmConnection, CrmInboundEvent, CrmLink, CrmOutboxItem
from backend.crm.vault import seal, unseal
from backend.db import utcnow
from backend.errors import BadInput, Conflict, NotFound
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry
from backend.pursuit import service as pursuit
from backend.pursuit.models import Lead
from backend.roster.service import agent_names, get_agent

logger = logging.getLogger(__name__)

KINDS = ("hubspot", "salesforce")
DEFAULT_URLS = {"hubspot": hubspot.DEFAULT_BASE_URL, "salesforce": salesforce.DEFAULT_LOGIN_URL}
DEFAULT_MAPPINGS = {"hubspot": hubspot.DEFAULT_MAPPING, "salesforce": salesforce.DEFAULT_MAPPING}
REQUIRED_CREDENTIALS = {
    "hubspot": (("token",),),
    "salesforce": (("client_id", "client_secret"), ("client_id", "username", "private_key")),
}
OPEN_OUTBOX = ("pending", "parked")


# Connections


def _check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(f"Base URL {url!r} must be an http or https address.", field="base_url")
    return url.strip().rstrip("/")


def _check_credentials(kind: str, credentials: dict[str, Any]) -> None:
    for names in REQUIRED_CREDENTIALS[kind]:
        if all(credentials.get(n) for n in names):
            return
    choices = " or ".join("+".join(names) for names in REQUIRED_CREDENTIALS[kind])
    raise BadInput(f"A {kind} connection needs {choices}.", field="credentials")


def check_mapping(kind: str, mapping: dict[str, Any]) -> dict[str, Any]:
    """Keep known keys of the right shape; tell which one is wrong otherwise."""
    defaults = DEFAULT_MAPPINGS[kind]
    unknown = sorted(set(mapping) - set(defaults))
    if unknown:
        raise BadInput(
            f"Mapping key {unknown[0]!r} is not known; use {', '.join(sorted(defaults))}.",
            field="mapping",
        )
    for key, value in mapping.items():
        expected = type(defaults[key])
        if not isinstance(value, expected):
            raise BadInput(
                f"Mapping {key!r} must be a {expected.__name__}.", field="mapping", key=key
            )
    for status in mapping.get("statuses", {}):
        if status not in pursuit_statuses():
            raise BadInput(
                f"{status!r} is not a Pursuit lead status; use {', '.join(pursuit_statuses())}.",
                field="mapping",
            )
    return mapping


def pursuit_statuses() -> tuple[str, ...]:
    return ("routing", "offered", "accepted", "contacted", "won", "lost", "unassigned")


async def connect(
    session: AsyncSession,
    secret_key: str,
    *,
    kind: str,
    name: str | None = None,
    base_url: str | None = None,
    credentials: dict[str, Any],
    mapping: dict[str, Any] | None = None,
    sync_all: bool = False,
) -> CrmConnection:
    if kind not in KINDS:
        raise BadInput(f"CRM {kind!r} is not supported; use hubspot or salesforce.", field="kind")
    clean = {k: v for k, v in credentials.items() if v not in (None, "")}
    _check_credentials(kind, clean)

    connection = CrmConnection(
        kind=kind,
        name=(name or kind.capitalize()).strip()[:200],
        base_url=_check_url(base_url or DEFAULT_URLS[kind]),
        credentials=seal(secret_key, clean),
        mapping=check_mapping(kind, mapping or {}),
        sync_all=sync_all,
    )
    session.add(connection)
    await session.commit()
    logger.info("crm connected connection_id=%s kind=%s", connection.id, kind)
    return connection


async def list_connections(session: AsyncSession) -> list[CrmConnection]:
    found = await session.scalars(select(CrmConnection).order_by(CrmConnection.created_at))
    return list(found.all())


async def get_connection(session: AsyncSession, connection_id: str) -> CrmConnection:
    connection = await session.get(CrmConnection, connection_id)
    if connection is None:
        raise NotFound(f"CRM connection {connection_id} does not exist.")
    return connection


def credentials_of(connection: CrmConnection, secret_key: str) -> dict[str, Any]:
    return unseal(secret_key, connection.credentials)


def effective_mapping(connection: CrmConnection) -> dict[str, Any]:
    return {**DEFAULT_MAPPINGS[connection.kind], **(connection.mapping or {})}


async def configure(
    session: AsyncSession,
    secret_key: str,
    connection_id: str,
    *,
    mapping_text: str | None = None,
    sync_all: bool | None = None,
    active: bool | None = None,
    credentials: dict[str, Any] | None = None,
) -> CrmConnection:
    """Change what a connection writes; a mapping is JSON, only the keys that differ."""
    connection = await get_connection(session, connection_id)
    if mapping_text is not None:
        try:
            mapping = json.loads(mapping_text or "{}")
        except json.JSONDecodeError as exc:
            raise BadInput(f"The mapping is not valid JSON: {exc.msg}.", field="mapping") from exc
        if not isinstance(mapping, dict):
            raise BadInput("The mapping must be a JSON object.", field="mapping")
        connection.mapping = check_mapping(connection.kind, mapping)
    if sync_all is not None:
        connection.sync_all = sync_all
    if active is not None:
        connection.active = active
    if credentials:
        merged = {**credentials_of(connection, secret_key), **credentials}
        _check_credentials(connection.kind, merged)
        connection.credentials = seal(secret_key, merged)
    await session.commit()
    return connection


def connector_for(
    connection: CrmConnection,
    secret_key: str,
    http: httpx.AsyncClient,
    pace: bool = True,
) -> Connector:
    credentials = credentials_of(connection, secret_key)
    if connection.kind == "hubspot":
        return hubspot.HubSpot(
            http,
            connection.base_url,
            credentials,
            connection.mapping or {},
            pace_s=hubspot.PACE_S if pace else 0.0,
        )
    return salesforce.Salesforce(http, connection.base_url, credentials, connection.mapping or {})


# The outbox


async def claim_leads(
    session: AsyncSession, worker: str, now: datetime, lease_s: float, limit: int = 20
) -> list[tuple[str, str]]:
    """Leads whose pending write-backs are all due, each claimed for this worker.

    The claim is a conditional update, safe against a second server process: only one
    update finds the rows unleased.
    """
    unleased = or_(CrmOutboxItem.lease_until.is_(None), CrmOutboxItem.lease_until < now)
    candidates = (
        await session.execute(
            select(CrmOutboxItem.connection_id, CrmOutboxItem.lead_id)
            .join(CrmConnection, CrmConnection.id == CrmOutboxItem.connection_id)
            .where(CrmOutboxItem.status == "pending", unleased, CrmConnection.active)
            .where(or_(CrmConnection.paused_until.is_(None), CrmConnection.paused_until <= now))
            .group_by(CrmOutboxItem.connection_id, CrmOutboxItem.lead_id)
            .having(func.max(CrmOutboxItem.next_attempt_at) <= now)
            .order_by(func.min(CrmOutboxItem.id))
            .limit(limit)
        )
    ).all()

    claimed = []
    for connection_id, lead_id in candidates:
        result = await session.execute(
            update(CrmOutboxItem)
            .where(
                CrmOutboxItem.connection_id == connection_id,
                CrmOutboxItem.lead_id == lead_id,
                CrmOutboxItem.status == "pending",
                unleased,
            )
            .values(lease_until=now + timedelta(seconds=lease_s), leased_by=worker)
        )
        if getattr(result, "rowcount", 0):
            claimed.append((connection_id, lead_id))
    await session.commit()
    return claimed


def _mine(worker: str, connection_id: str, lead_id: str) -> Any:
    return and_(
        CrmOutboxItem.connection_id == connection_id,
        CrmOutboxItem.lead_id == lead_id,
        CrmOutboxItem.status == "pending",
        CrmOutboxItem.leased_by == worker,
    )


async def get_link(session: AsyncSession, connection_id: str, lead_id: str) -> CrmLink | None:
    link: CrmLink | None = await session.scalar(
        select(CrmLink).where(CrmLink.connection_id == connection_id, CrmLink.lead_id == lead_id)
    )
    return link


async def save_record(
    session: AsyncSession, connection_id: str, lead_id: str, record: Record
) -> None:
    """Remember where the lead lives in the CRM and what was created there, at once."""
    link = await get_link(session, connection_id, lead_id)
    if link is None:
        link = CrmLink(connection_id=connection_id, lead_id=lead_id)
        session.add(link)
    link.object_type, link.record_id = record.object_type, record.record_id
    link.written = dict(record.written)
    await session.commit()


async def finish_delivery(
    session: AsyncSession,
    worker: str,
    connection_id: str,
    lead_id: str,
    record: Record,
    now: datetime,
) -> int:
    """Mark the claimed items delivered; answers how many were."""
    result = await session.execute(
        update(CrmOutboxItem)
        .where(_mine(worker, connection_id, lead_id))
        .values(status="done", delivered_at=now, lease_until=None, last_error=record.remark)
    )
    connection = await get_connection(session, connection_id)
    connection.last_success_at = now
    await session.commit()
    await save_record(session, connection_id, lead_id, record)
    return int(getattr(result, "rowcount", 0))


@dataclass(frozen=True)
class Failure:
    message: str
    permanent: bool
    retry_after: float | None


async def fail_delivery(
    session: AsyncSession,
    worker: str,
    connection_id: str,
    lead_id: str,
    failure: Failure,
    now: datetime,
    delay_for: Any,
    max_attempts: int,
) -> str:
    """Count the failed try against the claimed items: back off, or park them. Answers which."""
    items = (
        await session.scalars(select(CrmOutboxItem).where(_mine(worker, connection_id, lead_id)))
    ).all()
    attempts = max((i.attempts for i in items), default=0) + 1
    parked = failure.permanent or attempts >= max_attempts

    delay = failure.retry_after if failure.retry_after is not None else delay_for(attempts)
    for item in items:
        item.attempts, item.last_error, item.lease_until = attempts, failure.message, None
        if parked:
            item.status = "parked"
        else:
            item.next_attempt_at = now + timedelta(seconds=delay)

    connection = await get_connection(session, connection_id)
    connection.last_error, connection.last_error_at = failure.message, now
    if failure.retry_after is not None:
        # A rate limit concerns the whole connection, not this lead alone.
        connection.paused_until = now + timedelta(seconds=failure.retry_after)
    await session.commit()
    return "parked" if parked else "retrying"


async def retry_parked(
    session: AsyncSession, item_id: int | None = None, *, connection_id: str | None = None
) -> int:
    """Put parked items back in line, at once; answers how many."""
    query = update(CrmOutboxItem).where(CrmOutboxItem.status == "parked")
    if item_id is not None:
        query = query.where(CrmOutboxItem.id == item_id)
    if connection_id is not None:
        query = query.where(CrmOutboxItem.connection_id == connection_id)
    result = await session.execute(
        query.values(status="pending", attempts=0, next_attempt_at=utcnow(), lease_until=None)
    )
    await session.commit()
    count = int(getattr(result, "rowcount", 0))
    if item_id is not None and count == 0:
        raise Conflict(f"Outbox item {item_id} is not parked.")
    return count


async def outbox(
    session: AsyncSession, connection_id: str | None = None, limit: int = 100
) -> list[CrmOutboxItem]:
    query = select(CrmOutboxItem).where(CrmOutboxItem.status.in_(OPEN_OUTBOX))
    if connection_id:
        query = query.where(CrmOutboxItem.connection_id == connection_id)
    found = await session.scalars(query.order_by(CrmOutboxItem.id).limit(limit))
    return list(found.all())


async def outbox_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(
        select(CrmOutboxItem.connection_id, CrmOutboxItem.status, func.count())
        .where(CrmOutboxItem.status.in_(OPEN_OUTBOX))
        .group_by(CrmOutboxItem.connection_id, CrmOutboxItem.status)
    )
    return {(c, s): int(n) for c, s, n in rows.all()}


async def enqueue(session: AsyncSession, connection_id: str, lead_id: str, why: str) -> None:
    session.add(CrmOutboxItem(connection_id=connection_id, lead_id=lead_id, event_type=why))
    await session.commit()


# What is written


async def lead_facts(session: AsyncSession, lead_id: str, base_url: str) -> LeadFacts:
    lead = await pursuit.get_lead(session, lead_id)
    steps = await pursuit.journey(session, lead.id)
    names = await agent_names(session)
    owner_email = (await get_agent(session, lead.owner_id)).email if lead.owner_id else None
    declined = [o for o in steps["offers"] if o.status == "declined"]
    contacts = tuple(
        ActivityFact(a.id, a.kind, a.outcome, a.note, a.at)
        for a in steps["activities"]
        if a.kind in pursuit.CONTACT_KINDS
    )
    return LeadFacts(
        lead_id=lead.id,
        status=lead.status,
        owner_id=lead.owner_id,
        owner_email=owner_email,
        owner_name=names.get(lead.owner_id or ""),
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        company=lead.company,
        phone=lead.phone,
        decline_reason=declined[-1].decline_reason if declined else None,
        first_contact_at=lead.first_contact_at,
        summary=journey_summary(lead, steps, names, base_url),
        updated_at=lead.updated_at,
        activities=contacts,
    )


def journey_summary(
    lead: Any, steps: dict[str, list[Any]], names: dict[str, str], base_url: str
) -> str:
    """The pursuit in a few lines, for a person reading the CRM record."""
    owner = names.get(lead.owner_id or "", "nobody yet")
    lines = [f"Pursuit: {lead.status}, owned by {owner}."]
    for offer in steps["offers"]:
        who = names.get(offer.agent_id, offer.agent_id)
        line = f"Offered to {who} at {_time(offer.offered_at)}: {offer.status}"
        if offer.decline_reason:
            line += f" ({offer.decline_reason.replace('_', ' ')})"
        lines.append(line + ".")
    if lead.first_contact_at:
        lines.append(f"First contact at {_time(lead.first_contact_at)}.")
    for activity in steps["activities"]:
        outcome = f", {activity.outcome.replace('_', ' ')}" if activity.outcome else ""
        lines.append(f"{activity.kind.capitalize()} at {_time(activity.at)}{outcome}.")
    lines.append(f"Journey: {base_url}/console/leads/{lead.id}")
    return "\n".join(lines)


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


# Inbound records


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    object_type: str
    record_id: str
    fields: dict[str, Any]


async def store_inbound(
    session: AsyncSession, connection_id: str, deliveries: list[Delivery]
) -> int:
    """Keep each delivery once, before anything is done with it; answers how many were new."""
    if not deliveries:
        return 0
    ids = [d.delivery_id for d in deliveries]
    seen = set(
        (
            await session.scalars(
                select(CrmInboundEvent.delivery_id).where(
                    CrmInboundEvent.connection_id == connection_id,
                    CrmInboundEvent.delivery_id.in_(ids),
                )
            )
        ).all()
    )

    fresh = {d.delivery_id: d for d in deliveries if d.delivery_id not in seen}
    for d in fresh.values():
        session.add(
            CrmInboundEvent(
                connection_id=connection_id,
                delivery_id=d.delivery_id,
                object_type=d.object_type,
                record_id=d.record_id,
                fields=d.fields,
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        # The same delivery arriving twice at once: the other request stored it.
        await session.rollback()
        return 0
    logger.info("crm deliveries stored connection_id=%s new=%d", connection_id, len(fresh))
    return len(fresh)


async def claim_inbound(
    session: AsyncSession, now: datetime, lease_s: float, limit: int = 20
) -> list[CrmInboundEvent]:
    unleased = or_(CrmInboundEvent.lease_until.is_(None), CrmInboundEvent.lease_until < now)
    due = (
        await session.scalars(
            select(CrmInboundEvent)
            .where(CrmInboundEvent.status == "pending", CrmInboundEvent.next_attempt_at <= now)
            .where(unleased)
            .order_by(CrmInboundEvent.received_at)
            .limit(limit)
        )
    ).all()
    claimed = []
    for event in due:
        result = await session.execute(
            update(CrmInboundEvent)
            .where(CrmInboundEvent.id == event.id, CrmInboundEvent.status == "pending", unleased)
            .values(lease_until=now + timedelta(seconds=lease_s))
        )
        if getattr(result, "rowcount", 0):
            claimed.append(event)
    await session.commit()
    return claimed


async def link_for_record(
    session: AsyncSession, connection_id: str, object_type: str, record_id: str
) -> CrmLink | None:
    link: CrmLink | None = await session.scalar(
        select(CrmLink).where(
            CrmLink.connection_id == connection_id,
            CrmLink.object_type == object_type,
            CrmLink.record_id == record_id,
        )
    )
    return link


async def open_inquiry(
    session: AsyncSession, connection: CrmConnection, event_id: str, fields: dict[str, Any]
) -> str:
    """The CRM record becomes an inquiry, linked to the record for write-back; answers the lead."""
    event = await session.get(CrmInboundEvent, event_id)
    assert event is not None
    known = {
        k: v for k, v in fields.items() if v not in (None, "") and k in LeadIn.__struct_fields__
    }
    result = await submit_inquiry(
        session,
        LeadIn(source=connection.kind, external_id=event.record_id, **known),
        inlet=connection.kind,
    )
    if result.lead is None:
        raise BadInput("The CRM record did not open a lead.")
    lead_id = result.lead.id

    if await get_link(session, connection.id, lead_id) is None:
        session.add(
            CrmLink(
                connection_id=connection.id,
                lead_id=lead_id,
                inquiry_id=result.inquiry.id,
                object_type=event.object_type,
                record_id=event.record_id,
            )
        )
        # Intake's own events were flushed before the link existed: write the state now.
        session.add(
            CrmOutboxItem(connection_id=connection.id, lead_id=lead_id, event_type="linked")
        )

    event = await session.get(CrmInboundEvent, event_id)
    assert event is not None
    event.status, event.lead_id, event.lease_until = "done", lead_id, None
    await session.commit()
    logger.info("crm record opened a lead connection_id=%s lead_id=%s", connection.id, lead_id)
    return lead_id


async def inbound_failed(
    session: AsyncSession,
    event_id: str,
    failure: Failure,
    now: datetime,
    delay_s: float,
    max_attempts: int,
) -> None:
    event = await session.get(CrmInboundEvent, event_id)
    if event is None:
        return
    event.attempts += 1
    event.last_error, event.lease_until = failure.message, None
    if failure.permanent or event.attempts >= max_attempts:
        event.status = "parked"
    else:
        event.next_attempt_at = now + timedelta(seconds=delay_s)
    await session.commit()


async def parked_inbound(session: AsyncSession, limit: int = 50) -> list[CrmInboundEvent]:
    found = await session.scalars(
        select(CrmInboundEvent)
        .where(CrmInboundEvent.status == "parked")
        .order_by(CrmInboundEvent.received_at)
        .limit(limit)
    )
    return list(found.all())


# Reading back what changed in the CRM


async def open_links(session: AsyncSession, connection_id: str) -> list[CrmLink]:
    """Links of leads the CRM could still close, with a record to read."""
    found = await session.scalars(
        select(CrmLink)
        .join(Lead, Lead.id == CrmLink.lead_id)
        .where(CrmLink.connection_id == connection_id, CrmLink.record_id.is_not(None))
        .where(Lead.status.not_in(("won", "lost")))
    )
    return list(found.all())


async def record_remote_outcome(
    session: AsyncSession,
    connection: CrmConnection,
    link_id: str,
    status: str | None,
    outcome: str | None,
    now: datetime,
) -> bool:
    """A pursuit closed in the CRM closes it here, as the owner's outcome; answers if it did."""
    link = await session.get(CrmLink, link_id)
    if link is None:
        return False
    changed = link.remote_status != status
    link.remote_status = status
    await session.commit()
    if outcome is None or not changed:
        return False

    lead = await pursuit.get_lead(session, link.lead_id)
    if lead.status in ("won", "lost"):
        return False
    what = (
        f"{'Converted' if outcome == 'won' else 'Closed'} in {connection.name} (status {status})."
    )
    if lead.owner_id is None:
        pursuit.record_event(
            session,
            lead_id=lead.id,
            type="crm_outcome",
            actor=f"crm:{connection.id}",
            at=now,
            data={"outcome": outcome, "status": status},
        )
        await session.commit()
        return False
    await pursuit.log_activity(
        session, lead.id, agent_id=None, kind="note", outcome=outcome, note=what, now=now
    )
    logger.info(
        "crm outcome recorded connection_id=%s lead_id=%s outcome=%s",
        connection.id,
        lead.id,
        outcome,
    )
    return True
