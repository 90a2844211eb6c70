"""Failed inquiries: listed with the reason, over the API and in the console, and retried."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.intake.importer import parse_csv_bytes
from backend.intake.loading import import_batch
from backend.intake.service import ROUTING_FAILED
from backend.pursuit import service as pursuit
from tests.console.html import parse
from tests.console.test_console import sign_in
from tests.intake.conftest import make_inlet

HTMX = {"HX-Request": "true"}
NEEDS_CONTACT = "An inquiry needs at least a name, a company, an email or a phone."


async def _failed_post(client: httpx.AsyncClient, auth: dict[str, str]) -> dict[str, Any]:
    """A Spanish form whose address field the inlet does not know yet."""
    await make_inlet(client, auth, slug="es", field_map={"mensaje": "message"})
    await client.post("/f/es", data={"correo": "ana@example.org", "mensaje": "Hola"})
    listed = await client.get("/api/v1/inquiries?status=failed", headers=auth)
    [item] = listed.json()["items"]
    return dict(item)


async def test_failed_inquiry_is_listed_with_its_reason(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    item = await _failed_post(client, auth)

    assert item["status"] == "failed"
    assert item["inlet"] == "form"
    assert item["source"] == "web"
    assert item["reason"] == NEEDS_CONTACT
    assert item["lead_id"] is None
    assert item["payload"]["raw"]["fields"] == {"correo": "ana@example.org", "mensaje": "Hola"}


async def test_retry_after_the_mapping_is_fixed_opens_a_lead(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    item = await _failed_post(client, auth)
    again = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)
    fixed = {"field_map": {"mensaje": "message", "correo": "email"}}
    await client.patch("/api/v1/inlets/es", json=fixed, headers=auth)

    response = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)

    assert again.status_code == 422
    assert again.json()["detail"] == f"Inquiry {item['id']} failed again: {NEEDS_CONTACT}"
    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "offered"
    assert answer["offer"]["agent_id"] == rep
    old = (await client.get(f"/api/v1/inquiries/{item['id']}", headers=auth)).json()
    assert answer["inquiry_id"] == item["id"]
    assert (old["status"], old["reason"], old["lead_id"]) == ("processed", None, answer["lead_id"])
    lead = (await client.get(f"/api/v1/leads/{answer['lead_id']}", headers=auth)).json()
    assert lead["status"] == "offered"
    failed = await client.get("/api/v1/inquiries?status=failed", headers=auth)
    assert failed.json()["items"] == []


async def test_retry_refuses_what_is_not_failed(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    posted = await client.post(
        "/api/v1/leads", json={"source": "web", "company": "Acme"}, headers=auth
    )
    inquiry_id = posted.json()["inquiry_id"]

    response = await client.post(f"/api/v1/inquiries/{inquiry_id}/retry", headers=auth)
    missing = await client.post("/api/v1/inquiries/nope/retry", headers=auth)
    bad_status = await client.get("/api/v1/inquiries?status=lost", headers=auth)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Inquiry {inquiry_id} is processed; only failed inquiries can be retried."
    )
    assert missing.status_code == 404
    assert bad_status.status_code == 422
    assert bad_status.json()["detail"] == (
        "status 'lost' is not one of received, processed, coalesced, failed, ignored, spam, "
        "retried."
    )


async def test_console_lists_failed_inquiries_and_retries_one(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    item = await _failed_post(client, auth)
    await sign_in(client, sessions)
    listed = parse((await client.get("/console/inquiries")).text)
    fixed = {"field_map": {"mensaje": "message", "correo": "email"}}
    await client.patch("/api/v1/inlets/es", json=fixed, headers=auth)
    headers = {"x-csrftoken": client.cookies["pursuit_csrf"], **HTMX}

    response = await client.post(f"/console/inquiries/{item['id']}/retry", headers=headers)

    [row] = listed.all("data-inquiry", tag="tr")
    assert row.attrs["data-inquiry"] == item["id"]
    assert NEEDS_CONTACT in row.text
    assert "Retry" in row.text
    assert response.status_code == 200
    swapped = parse(response.text)
    [after] = swapped.all("data-inquiry", tag="tr")
    assert after.attrs["data-status"] == "processed"
    assert swapped.one("data-message").text.startswith("Retried: now lead ")


async def test_console_inquiries_needs_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/console/inquiries")

    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"


async def test_retry_through_a_closed_inlet_says_to_reopen_it(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    item = await _failed_post(client, auth)
    await client.patch("/api/v1/inlets/es", json={"active": False}, headers=auth)

    response = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        f"Inquiry {item['id']} came in by the form inlet 'es', which is closed or gone; "
        "reopen it to retry."
    )


async def _import(sessions: Any, text: str) -> None:
    batch = parse_csv_bytes(text.encode(), "people.csv", default_country="BR")
    async with sessions() as session:
        await import_batch(session, batch, "people.csv")


async def test_retry_of_a_row_with_extra_fields_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    header = "email,first_name,last_name,company\n"
    await _import(sessions, header + "shift@example.org,Shift,Row,ShiftCo,EXTRA\n")
    [item] = (await client.get("/api/v1/inquiries?status=failed", headers=auth)).json()["items"]

    response = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)

    assert item["reason"] == "Row 2: has 5 fields but the header has 4."
    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The row has more fields than the header's 4 columns, so a retry cannot tell which "
        "value belongs to which column; the row itself must be corrected and imported again."
    )
    after = (await client.get(f"/api/v1/inquiries/{item['id']}", headers=auth)).json()
    assert (after["status"], after["reason"], after["lead_id"]) == (
        "failed",
        "Row 2: has 5 fields but the header has 4.",
        None,
    )
    leads = await client.get("/api/v1/leads", headers=auth)
    assert leads.json()["items"] == []


async def test_batch_item_with_a_year_one_time_is_refused_before_it_is_stored(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    old = {"source": "web", "email": "old1@example.org", "received_at": "0001-01-01T00:00:00Z"}

    response = await client.post("/api/v1/leads/batch", json={"leads": [old]}, headers=auth)

    assert response.status_code == 200
    assert response.json()["items"] == [
        {
            "index": 0,
            "status_code": 422,
            "detail": "received_at 0001-01-01T00:00:00+00:00 is before 2000-01-01; "
            "give the time the inquiry was really received.",
        }
    ]
    listed = await client.get("/api/v1/inquiries", headers=auth)
    assert listed.json()["items"] == []


async def test_retry_whose_routing_fails_again_keeps_one_failed_inquiry(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("routing is down")

    monkeypatch.setattr(pursuit, "open_lead", broken)
    body = {"source": "web", "email": "down@example.org"}
    first = await client.post("/api/v1/leads", json=body, headers=auth)
    [item] = (await client.get("/api/v1/inquiries?status=failed", headers=auth)).json()["items"]

    again = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)
    twice = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)
    monkeypatch.undo()
    fixed = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)

    assert first.status_code == 500
    assert item["reason"] == ROUTING_FAILED
    assert [again.status_code, twice.status_code] == [422, 422]
    assert twice.json()["detail"] == f"Inquiry {item['id']} failed again: {ROUTING_FAILED}"
    assert fixed.status_code == 200
    assert fixed.json()["inquiry_id"] == item["id"]
    listed = (await client.get("/api/v1/inquiries", headers=auth)).json()["items"]
    assert [(i["id"], i["status"]) for i in listed] == [(item["id"], "processed")]


async def test_csv_imported_twice_counts_the_second_rows_as_joined(
    auth: dict[str, str], rep: str, sessions: Any
) -> None:
    text = "email,company\na@example.org,A\nb@example.org,B\nc@example.org,C\n"
    batch = parse_csv_bytes(text.encode(), "people.csv", default_country="BR")
    async with sessions() as session:
        first = await import_batch(session, batch, "people.csv")
        second = await import_batch(session, batch, "people.csv")

    assert first.summary == "3 leads created, 0 joined an open lead, 0 already known, 0 rejected"
    assert second.summary == "0 leads created, 3 joined an open lead, 0 already known, 0 rejected"


async def test_retry_of_a_row_with_an_unclosed_quote_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    await _import(sessions, 'email,company\nq@example.org,"Quote\nr@example.org,R\n')
    [item] = (await client.get("/api/v1/inquiries?status=failed", headers=auth)).json()["items"]

    response = await client.post(f"/api/v1/inquiries/{item['id']}/retry", headers=auth)

    assert response.status_code == 409
    assert response.json()["detail"] == (
        "The row opens a quote that never closes, so its fields hold the rows after it; "
        "the row itself must be corrected and imported again."
    )
    assert (await client.get("/api/v1/leads", headers=auth)).json()["items"] == []
