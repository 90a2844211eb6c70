"""HubSpot write-back and webhooks against the fake portal, as a portal admin would see them."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from backend.crm.inbound import hubspot_signature
from backend.intake.models import Inquiry
from backend.settings import Settings
from tests.factories import Client, post_lead

from .conftest import Clock, accept, connect, outbox_rows
from .fakes import FakeHubSpot

APP_SECRET = "hs-app-secret"
CREDENTIALS = {"token": "pat-test", "app_secret": APP_SECRET}


def creation_event(event_id: int, contact_id: str) -> dict[str, Any]:
    return {
        "eventId": event_id,
        "subscriptionId": 2101,
        "portalId": 62515,
        "appId": 33,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": int(contact_id),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
    }


def signed(path: str, body: bytes, secret: str = APP_SECRET, age_ms: int = 0) -> dict[str, str]:
    stamp = str(int(time.time() * 1000) - age_ms)
    uri = f"http://testserver.local{path}"
    return {
        "X-HubSpot-Signature-v3": hubspot_signature(secret, "POST", uri, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
        "Content-Type": "application/json",
    }


async def test_hubspot_contact_becomes_lead_and_status_is_written_back(
    client: Client,
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    contact = hubspot.add_contact(
        email="rita.lima@example.org",
        firstname="Rita",
        lastname="Lima",
        company="Lima Energia",
        country="BR",
        state="SP",
        zip="01310-100",
    )
    owners = {"ana@example.com": "7700"}
    connection = await connect(
        sessions,
        settings,
        "hubspot",
        hubspot.origin,
        credentials=CREDENTIALS,
        mapping={"owners": owners},
    )
    path = f"/api/v1/crm/{connection}/hubspot/webhook"
    body = json.dumps([creation_event(9001, contact)]).encode()

    stored = await client.post(path, content=body, headers=signed(path, body))
    taken = await worker.run_once()

    assert stored.status_code == 200 and stored.json() == {"stored": 1}
    assert taken == 2  # the inbound record, then its first write-back
    assert hubspot.contacts[contact]["hs_lead_status"] == "NEW"
    lead_id = (await outbox_rows(sessions))[0].lead_id

    await accept(client, ana, lead_id)
    await worker.run_once()

    assert hubspot.contacts[contact]["hs_lead_status"] == "OPEN"
    assert hubspot.contacts[contact]["hubspot_owner_id"] == "7700"
    [note] = hubspot.notes.values()
    assert note["associations"] == [
        {
            "to": {"id": contact},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 202}],
        }
    ]
    assert note["properties"]["hs_note_body"].splitlines()[0] == "Pursuit: accepted, owned by Ana."
    assert [(r.event_type, r.status) for r in await outbox_rows(sessions)] == [
        ("linked", "done"),
        ("accepted", "done"),
    ]
    assert len(hubspot.calls("GET", "/crm/v3/properties/contacts/hs_lead_status")) == 1


async def test_hubspot_statuses_are_the_portals_own_option_values(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    options = [
        ("New", "lead_new"),
        ("Open", "lead_open"),
        ("Connected", "talking"),
        ("Unqualified", "nope"),
    ]
    hubspot = FakeHubSpot(options=options)
    await hubspot.start()
    try:
        await connect(
            sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS, sync_all=True
        )

        posted = await post_lead(client, auth, "W-1", email="joao@example.org", first_name="João")
        await worker.run_once()
    finally:
        await hubspot.close()

    [contact] = hubspot.contacts.values()
    assert contact == {
        "email": "joao@example.org",
        "firstname": "João",
        "lastname": "Lima",
        "company": "Lima Energia",
        "hs_lead_status": "lead_new",
    }
    assert posted["status"] == "offered"


async def test_hubspot_429_waits_for_retry_after_then_delivers(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    clock: Clock,
    ana: dict[str, Any],
) -> None:
    await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS, sync_all=True
    )
    await post_lead(client, auth, "W-2", email="rate@example.org")
    limited = {
        "status": "error",
        "message": "You have reached your ten_secondly_rolling limit.",
        "errorType": "RATE_LIMIT",
        "category": "RATE_LIMITS",
        "policyName": "TEN_SECONDLY_ROLLING",
    }
    hubspot.fail(
        "GET", r"/crm/v3/objects/contacts/rate@example.org", 429, limited, **{"Retry-After": "7"}
    )

    first = clock.freeze()
    await worker.run_once()
    [item] = await outbox_rows(sessions)
    assert (item.status, item.attempts, item.next_attempt_at) == (
        "pending",
        1,
        first + timedelta(seconds=7),
    )
    assert "429" in (item.last_error or "") and "ten_secondly_rolling" in (item.last_error or "")

    clock.freeze(first + timedelta(seconds=6))
    assert await worker.deliver_due() == 0
    clock.freeze(first + timedelta(seconds=7))
    assert await worker.deliver_due() == 1

    [contact] = hubspot.contacts.values()
    assert contact["hs_lead_status"] == "NEW"


async def test_hubspot_conflict_on_create_uses_the_existing_contact(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    existing = hubspot.add_contact(email="race@example.org", firstname="Rita")
    # Our read by email came just before someone else created the contact.
    hubspot.fail(
        "GET",
        r"/crm/v3/objects/contacts/race@example.org",
        404,
        {"status": "error", "message": "Object not found.", "category": "OBJECT_NOT_FOUND"},
    )
    await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS, sync_all=True
    )

    await post_lead(client, auth, "W-3", email="race@example.org")
    await worker.run_once()

    assert list(hubspot.contacts) == [existing]
    assert hubspot.contacts[existing]["hs_lead_status"] == "NEW"
    assert [r.status for r in await outbox_rows(sessions)] == ["done"]
    assert len(hubspot.calls("POST", r"^/crm/v3/objects/contacts$")) == 1


async def test_hubspot_unknown_option_and_refused_value_are_parked_with_reason(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    mapping = {"statuses": {"offered": "Hot"}}
    await connect(
        sessions,
        settings,
        "hubspot",
        hubspot.origin,
        credentials=CREDENTIALS,
        sync_all=True,
        mapping=mapping,
    )

    await post_lead(client, auth, "W-4", email="hot@example.org")
    await worker.run_once()

    [item] = await outbox_rows(sessions)
    assert (item.status, item.attempts) == ("parked", 1)
    assert item.last_error == (
        "The status mapping sends 'offered' to 'Hot', which is not an option of "
        "hs_lead_status in this portal."
    )


async def test_hubspot_webhook_refuses_tampered_and_stale_signatures(
    client: Client, sessions: Any, settings: Settings, hubspot: FakeHubSpot
) -> None:
    connection = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/hubspot/webhook"
    body = json.dumps([creation_event(1, "1001")]).encode()
    tampered = body.replace(b"1001", b"1002")

    forged = await client.post(path, content=tampered, headers=signed(path, body))
    stale = await client.post(path, content=body, headers=signed(path, body, age_ms=301_000))
    wrong_key = await client.post(path, content=body, headers=signed(path, body, secret="guess"))
    valid = await client.post(path, content=body, headers=signed(path, body))
    again = await client.post(path, content=body, headers=signed(path, body))

    assert forged.status_code == 401
    assert forged.json()["detail"] == "The HubSpot signature does not match this request's body."
    assert stale.status_code == 401
    assert (
        stale.json()["detail"]
        == "The HubSpot request is more than five minutes old; it is refused."
    )
    assert wrong_key.status_code == 401
    assert valid.json() == {"stored": 1}
    assert again.json() == {"stored": 0}


async def test_hubspot_reconciliation_closes_a_lead_marked_unqualified(
    client: Client,
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    contact = hubspot.add_contact(email="late@example.org", lastname="Late", country="BR")
    connection = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/hubspot/webhook"
    body = json.dumps([creation_event(77, contact)]).encode()
    await client.post(path, content=body, headers=signed(path, body))
    await worker.run_once()
    lead_id = (await outbox_rows(sessions))[0].lead_id
    await accept(client, ana, lead_id)
    await worker.run_once()

    hubspot.contacts[contact]["hs_lead_status"] = "UNQUALIFIED"
    closed = await worker.reconcile(connection)

    lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=ana["link"])).json()
    assert closed == 1
    assert lead["status"] == "lost"
    assert lead["activities"][-1]["note"] == "Closed in Hubspot (status UNQUALIFIED)."


async def test_hubspot_country_written_as_a_name_is_read_as_its_code(
    client: Client, sessions: Any, settings: Settings, hubspot: FakeHubSpot, worker: Any
) -> None:
    contact = hubspot.add_contact(email="nome@example.org", lastname="Nome", country="brazil")
    connection = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/hubspot/webhook"
    body = json.dumps([creation_event(78, contact)]).encode()
    await client.post(path, content=body, headers=signed(path, body))

    await worker.run_once()

    async with sessions() as session:
        [inquiry] = (await session.scalars(select(Inquiry))).all()
    assert (inquiry.status, inquiry.payload["country"]) == ("processed", "BR")
