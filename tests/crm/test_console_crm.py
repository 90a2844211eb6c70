"""The console's CRM page: connecting, health, mapping, the test button and parked items."""

from __future__ import annotations

from typing import Any

from backend.crm import service
from backend.settings import Settings
from tests.console.html import parse
from tests.console.test_console import HTMX, sign_in
from tests.factories import Client, post_lead

from .conftest import connect, outbox_rows
from .fakes import FakeHubSpot


async def csrf(client: Client) -> dict[str, str]:
    await client.get("/console/crm")
    return {"x-csrftoken": client.cookies["pursuit_csrf"], **HTMX}


async def test_crm_page_needs_a_signed_in_user(client: Client) -> None:
    response = await client.get("/console/crm", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


async def test_connect_form_stores_a_connection_and_says_what_is_missing(
    client: Client, sessions: Any, settings: Settings
) -> None:
    await sign_in(client, sessions)
    headers = await csrf(client)

    missing = await client.post(
        "/console/crm/connections", data={"kind": "hubspot", "name": "EU"}, headers=headers
    )
    bad_url = await client.post(
        "/console/crm/connections",
        data={"kind": "hubspot", "token": "pat-1", "base_url": "ftp://x"},
        headers=headers,
    )
    made = await client.post(
        "/console/crm/connections",
        data={
            "kind": "hubspot",
            "name": "EU portal",
            "token": "pat-1",
            "base_url": "http://127.0.0.1:9",
        },
        headers=headers,
    )

    assert missing.status_code == 422
    assert parse(missing.text).one("data-problem").text == "A hubspot connection needs token."
    assert bad_url.status_code == 422
    assert "must be an http or https address" in parse(bad_url.text).one("data-problem").text
    assert made.status_code == 200
    document = parse(made.text)
    assert document.one("data-message").text == (
        "EU portal is connected. Test it, then review its mapping."
    )
    [card] = document.all("data-connection")
    assert "pat-1" not in made.text
    async with sessions() as session:
        [connection] = await service.list_connections(session)
        assert "pat-1" not in connection.credentials
        assert service.credentials_of(connection, settings.secret_key) == {"token": "pat-1"}
    assert card.attrs["data-connection"] == connection.id


async def test_parked_item_shows_the_crm_error_and_retry_puts_it_back(
    client: Client,
    auth: dict[str, str],
    sessions: Any,
    settings: Settings,
    hubspot: FakeHubSpot,
    worker: Any,
    ana: dict[str, Any],
) -> None:
    refused = {
        "status": "error",
        "message": "Property values were not valid",
        "category": "VALIDATION_ERROR",
    }
    hubspot.fail("POST", r"/crm/v3/objects/contacts", 400, refused)
    await connect(
        sessions,
        settings,
        "hubspot",
        hubspot.origin,
        credentials={"token": "pat-test"},
        sync_all=True,
    )
    await post_lead(client, auth, "C-1", email="parked@example.org")
    await worker.run_once()
    await sign_in(client, sessions)

    document = parse((await client.get("/console/crm")).text)
    [item] = await outbox_rows(sessions)
    row = document.one("data-item", str(item.id))
    retried = await client.post(f"/console/crm/outbox/{item.id}/retry", headers=await csrf(client))
    again = await client.post(f"/console/crm/outbox/{item.id}/retry", headers=await csrf(client))
    await worker.run_once()

    assert row.attrs["data-state"] == "parked"
    assert row.one("data-error").text == "HubSpot answered 400: Property values were not valid"
    assert document.one("data-parked").text == "1"
    assert document.one("data-last-error").text.startswith("HubSpot answered 400")
    assert parse(retried.text).one("data-message").text == "The item is back in line."
    assert again.status_code == 409
    assert [r.status for r in await outbox_rows(sessions)] == ["done"]


async def test_test_button_reports_the_portal_options_or_the_refusal(
    client: Client, sessions: Any, settings: Settings, hubspot: FakeHubSpot
) -> None:
    good = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials={"token": "pat-test"}
    )
    bad = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials={"token": "wrong"}
    )
    await sign_in(client, sessions)
    headers = await csrf(client)

    ok = parse((await client.post(f"/console/crm/connections/{good}/test", headers=headers)).text)
    refused = parse(
        (await client.post(f"/console/crm/connections/{bad}/test", headers=headers)).text
    )

    assert ok.one("data-test-result").attrs["data-test-result"] == "ok"
    assert ok.one("data-test-result").text == (
        "Connected: hs_lead_status offers NEW, OPEN, IN_PROGRESS, OPEN_DEAL, UNQUALIFIED, "
        "ATTEMPTED_TO_CONTACT, CONNECTED, BAD_TIMING."
    )
    assert refused.one("data-test-result").text == (
        "HubSpot answered 401: Authentication credentials not found."
    )


async def test_mapping_form_checks_json_and_keys(
    client: Client, sessions: Any, settings: Settings, hubspot: FakeHubSpot
) -> None:
    connection = await connect(
        sessions, settings, "hubspot", hubspot.origin, credentials={"token": "t"}
    )
    await sign_in(client, sessions)
    headers = await csrf(client)
    path = f"/console/crm/connections/{connection}"

    broken = await client.post(path, data={"mapping": "{oops", "active": "1"}, headers=headers)
    unknown = await client.post(
        path, data={"mapping": '{"colour": 1}', "active": "1"}, headers=headers
    )
    status = await client.post(
        path, data={"mapping": '{"statuses": {"hot": "NEW"}}', "active": "1"}, headers=headers
    )
    saved = await client.post(
        path,
        data={
            "mapping": '{"statuses": {"won": "CONNECTED"}}',
            "sync_all": "1",
            "active": "1",
            "token": "pat-rotated",
        },
        headers=headers,
    )

    assert broken.status_code == 422
    assert parse(broken.text).one("data-problem").text.startswith("The mapping is not valid JSON")
    assert (
        parse(unknown.text).one("data-problem").text.startswith("Mapping key 'colour' is not known")
    )
    assert (
        parse(status.text).one("data-problem").text.startswith("'hot' is not a Pursuit lead status")
    )
    assert saved.status_code == 200
    async with sessions() as session:
        found = await service.get_connection(session, connection)
        assert (found.mapping, found.sync_all) == ({"statuses": {"won": "CONNECTED"}}, True)
        assert service.credentials_of(found, settings.secret_key) == {"token": "pat-rotated"}
