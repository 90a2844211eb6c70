"""Salesforce write-back, outbound messages and reconciliation against the fake org."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from backend.crm import service
from backend.crm.models import CrmInboundEvent, CrmLink
from backend.crm.tasks import CrmWorker
from backend.intake.models import Inquiry
from backend.settings import Settings
from tests.factories import Client

from .conftest import Clock, HalfJitter, accept, connect, log_call, outbox_rows
from .fakes import FakeSalesforce

CREDENTIALS = {
    "client_id": "3MVG9-test",
    "client_secret": "sf-secret",
    "org_id": "00D5g000004ABCDEAA",
    "callout_secret": "callout-shared-secret",
}
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
# The fake org's own Lead Status values, none of them the stock ones.
ORG_MAPPING = {
    "statuses": {
        "routing": "Nuevo",
        "offered": "Nuevo",
        "unassigned": "Nuevo",
        "accepted": "Trabajando",
        "contacted": "Trabajando",
        "lost": "Cerrado - Sin convertir",
    },
    "lost_statuses": ["Cerrado - Sin convertir"],
}


def outbound_message(
    notifications: list[tuple[str, str, str]], org: str = "00D5g000004ABCD"
) -> bytes:
    items = "".join(
        f"<Notification><Id>{nid}</Id>"
        f'<sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        f"<sf:Id>{lead_id}</sf:Id><sf:Company>Lima Energia</sf:Company><sf:Country>BR</sf:Country>"
        f"<sf:Email>{email}</sf:Email><sf:FirstName>Rita</sf:FirstName><sf:LastName>Lima</sf:LastName>"
        "</sObject></Notification>"
        for nid, lead_id, email in notifications
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        f'<notifications xmlns="{OUTBOUND_NS}"><OrganizationId>{org}</OrganizationId>'
        '<ActionId>04k5g000000AbCdAAK</ActionId><SessionId xsi:nil="true"/>'
        "<EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/60.0</EnterpriseUrl>"
        "<PartnerUrl>https://example.my.salesforce.com/services/Soap/u/60.0</PartnerUrl>"
        f"{items}</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


async def lead_from_salesforce(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    **mapping: Any,
) -> tuple[str, str, str]:
    """A Lead created in the org reaches Pursuit by outbound message; answers the ids."""
    sf_lead = salesforce.add_lead(
        LastName="Lima", FirstName="Rita", Company="Lima Energia", Email="rita@example.org"
    )
    connection = await connect(
        sessions,
        settings,
        "salesforce",
        salesforce.origin,
        credentials=CREDENTIALS,
        mapping={**ORG_MAPPING, **mapping},
    )
    body = outbound_message([("04l5g0000001AAA", sf_lead, "rita@example.org")])
    answer = await client.post(
        f"/api/v1/crm/{connection}/salesforce/outbound",
        content=body,
        headers={"Content-Type": "text/xml"},
    )
    assert answer.status_code == 200, answer.text
    await worker.run_once()
    async with sessions() as session:
        link = await session.scalar(select(CrmLink).where(CrmLink.record_id == sf_lead))
        assert link is not None
        return connection, sf_lead, link.lead_id


async def test_outbound_message_is_acknowledged_and_deduplicated(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    connection = await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/salesforce/outbound"
    first = outbound_message(
        [("04lA", "00Q5g00000X1", "a@example.org"), ("04lB", "00Q5g00000X2", "b@example.org")]
    )
    # Resent after a lost acknowledgement, out of order with a newer one.
    resent = outbound_message(
        [("04lB", "00Q5g00000X2", "b@example.org"), ("04lA", "00Q5g00000X1", "a@example.org")]
    )

    answers = [
        await client.post(path, content=m, headers={"Content-Type": "text/xml"})
        for m in (first, resent)
    ]
    opened = await worker.take_inbound()
    foreign = await client.post(
        path,
        content=outbound_message([("04lC", "00Q9", "c@example.org")], org="00D000000000OTHER"),
        headers={"Content-Type": "text/xml"},
    )

    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/xml")
        assert (
            f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
            in answer.text
        )
    assert opened == 2
    async with sessions() as session:
        inquiries = (await session.scalars(select(Inquiry).order_by(Inquiry.external_id))).all()
        stored = (await session.scalars(select(CrmInboundEvent))).all()
    assert [(i.source, i.external_id, i.inlet) for i in inquiries] == [
        ("salesforce", "00Q5g00000X1", "salesforce"),
        ("salesforce", "00Q5g00000X2", "salesforce"),
    ]
    assert len(stored) == 2
    assert foreign.status_code == 403
    assert (
        foreign.json()["detail"]
        == "This outbound message comes from another Salesforce organization."
    )


async def test_salesforce_write_back_uses_org_statuses_and_never_reassigns(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    salesforce.assignment_owner = "00G5g000000QUEUE"  # the org's assignment rule
    statuses = {"offered": "Nuevo", "accepted": "Trabajando", "contacted": "Trabajando"}
    _, sf_lead, lead_id = await lead_from_salesforce(
        client,
        sessions,
        settings,
        salesforce,
        worker,
        statuses=statuses,
        owners={ana["id"]: "0055g00000ANA"},
    )
    assert salesforce.leads[sf_lead]["Status"] == "Nuevo"

    await accept(client, ana, lead_id)
    await log_call(client, ana, lead_id)
    await worker.run_once()

    lead = salesforce.leads[sf_lead]
    assert (lead["Status"], lead["OwnerId"]) == ("Trabajando", "0055g00000ANA")
    patches = salesforce.calls("PATCH", f"/sobjects/Lead/{sf_lead}")
    assert {p.headers["sforce-auto-assign"] for p in patches} == {"FALSE"}
    # Accepted, then the call with its first contact: two pending changes, one update.
    assert len(patches) == 2
    assert [r.event_type for r in await outbox_rows(sessions)] == [
        "linked",
        "accepted",
        "contacted",
    ]
    [task] = salesforce.tasks.values()
    assert task["WhoId"] == sf_lead
    assert task["Subject"] == "Call: connected"
    assert (task["Status"], task["TaskSubtype"], task["OwnerId"]) == (
        "Completed",
        "Call",
        "0055g00000ANA",
    )
    assert task["Description"] == "Spoke about the roof"
    assert len(salesforce.calls("GET", "/sobjects/Lead/describe")) == 1


async def test_salesforce_5xx_twice_then_success_backs_off(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    clock: Clock,
    ana: dict[str, Any],
) -> None:
    _, sf_lead, lead_id = await lead_from_salesforce(client, sessions, settings, salesforce, worker)
    unavailable = [{"message": "Service Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    salesforce.fail("PATCH", rf".*/sobjects/Lead/{sf_lead}", 503, unavailable, times=2)
    await accept(client, ana, lead_id)

    first = clock.freeze()
    await worker.deliver_due()
    [_, item] = await outbox_rows(sessions)
    assert (item.status, item.attempts, item.next_attempt_at) == (
        "pending",
        1,
        first + timedelta(seconds=3.75),
    )

    second = clock.freeze(first + timedelta(seconds=3.75))
    await worker.deliver_due()
    [_, item] = await outbox_rows(sessions)
    assert (item.status, item.attempts, item.next_attempt_at) == (
        "pending",
        2,
        second + timedelta(seconds=7.5),
    )
    assert item.last_error == "Salesforce answered 503 SERVER_UNAVAILABLE: Service Unavailable"

    clock.freeze(second + timedelta(seconds=7.5))
    assert await worker.deliver_due() == 1
    assert (
        salesforce.leads[sf_lead]["Status"] == "Working - Contacted"
        or salesforce.leads[sf_lead]["Status"]
    )
    [_, item] = await outbox_rows(sessions)
    assert item.status == "done"


async def test_restricted_picklist_refusal_is_parked_then_retried(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    statuses = {"offered": "Nuevo", "accepted": "Trabajando"}
    _, sf_lead, lead_id = await lead_from_salesforce(
        client, sessions, settings, salesforce, worker, statuses=statuses
    )
    # The org's picklist changed after Pursuit read it.
    salesforce.statuses = [s for s in salesforce.statuses if s[0] != "Trabajando"]
    await accept(client, ana, lead_id)

    await worker.run_once()
    parked = (await outbox_rows(sessions))[-1]
    assert (parked.status, parked.attempts) == ("parked", 1)
    assert parked.last_error == (
        "Salesforce answered 400 INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: "
        "bad value for restricted picklist field: Trabajando (fields: Status)"
    )

    salesforce.statuses.append(("Trabajando", False))
    async with sessions() as session:
        assert await service.retry_parked(session, parked.id) == 1
    await worker.run_once()
    assert salesforce.leads[sf_lead]["Status"] == "Trabajando"
    assert (await outbox_rows(sessions))[-1].status == "done"


async def test_limit_exceeded_403_is_retried_later_not_parked(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    clock: Clock,
    ana: dict[str, Any],
) -> None:
    _, sf_lead, lead_id = await lead_from_salesforce(client, sessions, settings, salesforce, worker)
    limit = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    salesforce.fail("PATCH", rf".*/sobjects/Lead/{sf_lead}", 403, limit)
    await accept(client, ana, lead_id)

    first = clock.freeze()
    await worker.deliver_due()

    item = (await outbox_rows(sessions))[-1]
    assert (item.status, item.next_attempt_at) == ("pending", first + timedelta(seconds=900))
    async with sessions() as session:
        paused = (await service.list_connections(session))[0].paused_until
    assert paused == first + timedelta(seconds=900)
    clock.freeze(first + timedelta(seconds=900))
    assert await worker.deliver_due() == 1


async def test_converted_lead_is_followed_to_its_contact_or_left(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    _, sf_lead, lead_id = await lead_from_salesforce(
        client, sessions, settings, salesforce, worker, owners={ana["id"]: "0055g00000ANA"}
    )
    contact = salesforce.convert(sf_lead)
    await accept(client, ana, lead_id)
    await log_call(client, ana, lead_id)

    await worker.run_once()

    assert salesforce.contacts[contact]["OwnerId"] == "0055g00000ANA"
    [task] = salesforce.tasks.values()
    assert task["WhoId"] == contact
    item = (await outbox_rows(sessions))[-1]
    assert (item.status, item.last_error) == (
        "done",
        f"Lead was converted in Salesforce; written to contact {contact}.",
    )


async def test_converted_lead_stops_when_told_to(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    _, sf_lead, lead_id = await lead_from_salesforce(
        client, sessions, settings, salesforce, worker, on_converted="stop"
    )
    salesforce.convert(sf_lead)
    await accept(client, ana, lead_id)

    await worker.run_once()

    assert salesforce.tasks == {}
    item = (await outbox_rows(sessions))[-1]
    assert (item.status, item.last_error) == (
        "done",
        f"Lead {sf_lead} was converted in Salesforce; not written.",
    )


async def test_delivery_killed_mid_write_is_delivered_once_after_restart(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    clock: Clock,
    ana: dict[str, Any],
) -> None:
    statuses = {"offered": "Nuevo", "accepted": "Trabajando"}
    _, sf_lead, lead_id = await lead_from_salesforce(
        client,
        sessions,
        settings,
        salesforce,
        worker,
        statuses=statuses,
        owners={ana["id"]: "0055g00000ANA"},
    )
    await accept(client, ana, lead_id)
    salesforce.hang_on = ("PATCH", rf".*/sobjects/Lead/{sf_lead}")

    killed_at = clock.freeze()
    running = asyncio.create_task(worker.deliver_due())
    await asyncio.wait_for(salesforce.hung.wait(), 10)
    running.cancel()  # the server process dies with the CRM's answer on its way
    with pytest.raises(asyncio.CancelledError):
        await running
    applied_once = dict(salesforce.leads[sf_lead])

    restarted = CrmWorker(sessions, settings, clock=clock, rng=HalfJitter(), pace=False, lease_s=60)  # type: ignore[arg-type]
    try:
        clock.freeze(killed_at + timedelta(seconds=30))
        assert await restarted.deliver_due() == 0  # the dead worker's lease still holds
        clock.freeze(killed_at + timedelta(seconds=61))
        assert await restarted.deliver_due() == 1
        assert await restarted.deliver_due() == 0
    finally:
        await restarted.stop()

    assert salesforce.leads[sf_lead] == applied_once
    assert (applied_once["Status"], applied_once["OwnerId"]) == ("Trabajando", "0055g00000ANA")
    assert len(salesforce.calls("PATCH", f"/sobjects/Lead/{sf_lead}")) == 3  # linked, killed, again
    assert [r.status for r in await outbox_rows(sessions)] == ["done", "done"]


async def test_reconciliation_records_a_conversion_as_won(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    connection, sf_lead, lead_id = await lead_from_salesforce(
        client, sessions, settings, salesforce, worker
    )
    await accept(client, ana, lead_id)
    await worker.run_once()
    salesforce.convert(sf_lead)

    closed = await worker.reconcile(connection)
    again = await worker.reconcile(connection)

    lead = (await client.get(f"/api/v1/leads/{lead_id}", headers=ana["link"])).json()
    assert (closed, again) == (1, 0)
    assert lead["status"] == "won"
    [activity] = lead["activities"]
    assert (activity["kind"], activity["outcome"]) == ("note", "won")
    assert activity["note"] == "Converted in Salesforce (status Calificado)."


async def test_reconciliation_of_an_unreachable_org_waits_for_its_next_turn(
    client: Client,
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    clock: Clock,
    ana: dict[str, Any],
) -> None:
    _, _, lead_id = await lead_from_salesforce(client, sessions, settings, salesforce, worker)
    await accept(client, ana, lead_id)
    await worker.run_once()
    salesforce.fail("GET", r".*/query/?", 503, [{"errorCode": "SERVER_UNAVAILABLE"}], times=9)
    # Past the reconciliation the worker's first pass made.
    first = clock.freeze(clock() + timedelta(seconds=worker.reconcile_every_s + 5))
    before = len(salesforce.calls("GET", "/query"))

    await worker.reconcile_due()
    tried = len(salesforce.calls("GET", "/query")) - before
    clock.freeze(first + timedelta(seconds=worker.reconcile_every_s - 1))
    await worker.reconcile_due()
    early = len(salesforce.calls("GET", "/query")) - before
    clock.freeze(first + timedelta(seconds=worker.reconcile_every_s))
    await worker.reconcile_due()
    due = len(salesforce.calls("GET", "/query")) - before

    assert (tried, early, due) == (1, 1, 2)


async def test_duplicate_rule_is_passed_only_when_allowed(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    worker: CrmWorker,
    ana: dict[str, Any],
) -> None:
    from tests.factories import post_lead

    salesforce.duplicate_rule = True
    salesforce.add_lead(LastName="Other", Company="Lima Energia", Email="someone@example.org")
    strict = await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=CREDENTIALS, sync_all=True
    )
    await post_lead(client, auth, "D-1", email="dup@example.org")
    await worker.run_once()
    parked = (await outbox_rows(sessions))[-1]
    assert (parked.status, parked.last_error) == (
        "parked",
        "Salesforce answered 400 DUPLICATES_DETECTED: Use one of these records?",
    )

    async with sessions() as session:
        await service.configure(
            session, settings.secret_key, strict, mapping_text='{"allow_duplicates": true}'
        )
        await service.retry_parked(session, parked.id)
    await worker.run_once()

    created = [lead for lead in salesforce.leads.values() if lead.get("Email") == "dup@example.org"]
    assert len(created) == 1
    assert (
        salesforce.calls("POST", "/sobjects/Lead$")[-1].headers["sforce-duplicate-rule-header"]
        == "allowSave=true"
    )


async def test_jwt_bearer_sign_in_is_accepted_by_the_org(
    sessions: Any, settings: Settings, salesforce: FakeSalesforce, worker: CrmWorker
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    salesforce.public_key = key.public_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    credentials = {"client_id": "3MVG9-test", "username": "ops@example.org", "private_key": pem}
    connection = await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=credentials
    )

    async with sessions() as session:
        found = await service.get_connection(session, connection)
    said = await worker.connector(found).check()

    assert (
        said == "Connected: Lead Status offers Nuevo, Trabajando, Calificado (converted), "
        "Cerrado - Sin convertir."
    )
    [token] = salesforce.calls("POST", "/services/oauth2/token")
    assert token.body["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def test_json_callout_needs_the_shared_secret(
    client: Client, sessions: Any, settings: Settings, salesforce: FakeSalesforce, worker: CrmWorker
) -> None:
    connection = await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/salesforce/callout"
    record = {
        "attributes": {"type": "Lead"},
        "Id": "00Q5g00000CALL",
        "LastModifiedDate": "2026-12-04T02:00:00.000+0000",
        "LastName": "Souza",
        "Email": "souza@example.org",
        "Country": "BR",
    }

    refused = await client.post(path, json=record, headers={"X-Pursuit-Secret": "guess"})
    stored = await client.post(
        path, json={"records": [record]}, headers={"X-Pursuit-Secret": "callout-shared-secret"}
    )
    await worker.take_inbound()

    assert refused.status_code == 401
    assert refused.json()["detail"] == "The X-Pursuit-Secret header does not match this connection."
    assert stored.json() == {"stored": 1}
    async with sessions() as session:
        [inquiry] = (await session.scalars(select(Inquiry))).all()
    assert (inquiry.source, inquiry.external_id, inquiry.payload["email"]) == (
        "salesforce",
        "00Q5g00000CALL",
        "souza@example.org",
    )


async def test_two_server_processes_never_claim_the_same_lead(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    salesforce: FakeSalesforce,
    database_url: str,
    ana: dict[str, Any],
) -> None:
    from backend.db import create_engine, session_factory, utcnow
    from tests.factories import post_lead

    await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=CREDENTIALS, sync_all=True
    )
    for n in range(6):
        await post_lead(client, auth, f"P-{n}", email=f"p{n}@example.org")
    other_engine = create_engine(database_url)  # the second process's own pool
    now = utcnow() + timedelta(seconds=1)

    async def claim(factory: Any, name: str) -> list[tuple[str, str]]:
        async with factory() as session:
            return await service.claim_leads(session, name, now, 60)

    try:
        first, second = await asyncio.gather(
            claim(sessions, "one"), claim(session_factory(other_engine), "two")
        )
    finally:
        await other_engine.dispose()

    assert len(first) + len(second) == 6
    assert not set(first) & set(second)


async def test_callout_country_names_and_codes_become_iso_codes(
    client: Client, sessions: Any, settings: Settings, salesforce: FakeSalesforce, worker: CrmWorker
) -> None:
    connection = await connect(
        sessions, settings, "salesforce", salesforce.origin, credentials=CREDENTIALS
    )
    path = f"/api/v1/crm/{connection}/salesforce/callout"
    base = {"attributes": {"type": "Lead"}, "LastName": "Souza"}
    records = [
        {**base, "Id": "00Q5g00000NAME", "Email": "name@example.org", "Country": "Brazil"},
        {
            **base,
            "Id": "00Q5g00000CODE",
            "Email": "code@example.org",
            "Country": "Portugal",
            "CountryCode": "PT",
        },
    ]

    await client.post(
        path, json={"records": records}, headers={"X-Pursuit-Secret": "callout-shared-secret"}
    )
    await worker.take_inbound()

    async with sessions() as session:
        found = (await session.scalars(select(Inquiry).order_by(Inquiry.external_id))).all()
    assert [(i.external_id, i.status, i.payload["country"]) for i in found] == [
        ("00Q5g00000CODE", "processed", "PT"),
        ("00Q5g00000NAME", "processed", "BR"),
    ]
