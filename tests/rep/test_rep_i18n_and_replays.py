"""The rep app in the rep's language, and page actions that a flaky connection sends twice."""

from __future__ import annotations

from typing import Any

from tests.console.html import parse
from tests.factories import Client, link_for, make_agent, make_rule, post_lead

HTMX = {"HX-Request": "true"}


async def offered_to(
    client: Client, auth: dict[str, str], languages: list[str], **lead: Any
) -> dict[str, str]:
    agent = await make_agent(client, auth, "Ana", languages=languages, timezone="Europe/Berlin")
    await make_rule(client, auth, "All", [agent])
    answer = await post_lead(client, auth, "R1", **lead)
    token = (await link_for(client, auth, agent))["Authorization"].split(" ", 1)[1]
    return {"token": token, "lead_id": answer["lead_id"], "offer_id": answer["offer"]["id"]}


async def test_rep_page_speaks_the_agents_language_over_the_browsers(
    client: Client, auth: dict[str, str]
) -> None:
    offer = await offered_to(
        client, auth, ["de"], language="de", value=12000, currency="EUR", country="DE"
    )

    response = await client.get(f"/r/{offer['token']}", headers={"Accept-Language": "fr"})
    document = parse(response.text)

    assert response.headers["content-language"] == "de"
    assert document.tags("html")[0].attrs["lang"] == "de"
    assert document.tags("h1")[0].text == "Ihre Leads"
    assert document.one("data-value").text == "12.000,00 €"  # the parser shows NBSP as a space
    assert document.one("data-no-history").text.startswith(
        "Sie haben noch keinen Verlauf, daher ist Ihre Punktzahl "
        "der Durchschnitt aller Vertriebler."
    )
    assert [b.text for b in document.one("data-offer", offer["offer_id"]).tags("button")] == [
        "Annehmen",
        "Diesen Lead ablehnen",
    ]


async def test_rep_without_languages_gets_the_browsers_language(
    client: Client, auth: dict[str, str]
) -> None:
    offer = await offered_to(client, auth, [], value=12000, currency="BRL")

    response = await client.post(
        f"/r/{offer['token']}/offers/{offer['offer_id']}/decline",
        data={"reason": "spam"},
        headers={**HTMX, "Accept-Language": "pt-BR,pt;q=0.9,en;q=0.5"},
    )

    assert parse(response.text).one("data-message").text == (
        "Recusado: Lima Energia volta para o seu gestor."
    )


async def test_unknown_link_is_refused_in_the_browsers_language(client: Client) -> None:
    response = await client.get("/r/pl_unknown", headers={"Accept-Language": "es-MX"})

    assert response.status_code == 404
    assert parse(response.text).one("data-message").text == (
        "Este enlace no abre ningún lead: es desconocido, fue revocado o caducó. "
        "Pide uno nuevo a tu responsable."
    )


async def test_decline_sent_twice_with_one_key_applies_once(
    client: Client, auth: dict[str, str]
) -> None:
    offer = await offered_to(client, auth, [])
    url = f"/r/{offer['token']}/offers/{offer['offer_id']}/decline"
    keyed = {**HTMX, "Idempotency-Key": "tap-1"}

    first = await client.post(url, data={"reason": "duplicate"}, headers=keyed)
    again = await client.post(url, data={"reason": "duplicate"}, headers=keyed)
    unkeyed = await client.post(url, data={"reason": "duplicate"}, headers=HTMX)
    lead = (await client.get(f"/api/v1/leads/{offer['lead_id']}", headers=auth)).json()

    expected = "Declined: Lima Energia goes back to your manager."
    assert (first.status_code, parse(first.text).one("data-message").text) == (200, expected)
    assert (again.status_code, parse(again.text).one("data-message").text) == (200, expected)
    assert unkeyed.status_code == 409
    assert [(o["status"], o["decline_reason"]) for o in lead["offers"]] == [
        ("declined", "duplicate")
    ]
    assert [e["type"] for e in lead["events"]].count("declined") == 1


async def test_page_and_api_share_one_key_for_the_same_answer(
    client: Client, auth: dict[str, str]
) -> None:
    offer = await offered_to(client, auth, [])
    bearer = {"Authorization": f"Bearer {offer['token']}", "Idempotency-Key": "tap-2"}

    page = await client.post(
        f"/r/{offer['token']}/offers/{offer['offer_id']}/accept",
        headers={**HTMX, "Idempotency-Key": "tap-2"},
    )
    api = await client.post(f"/api/v1/offers/{offer['offer_id']}/accept", headers=bearer)

    assert page.status_code == 200
    assert api.status_code == 200
    assert (api.json()["id"], api.json()["status"]) == (offer["lead_id"], "accepted")
    assert api.json()["message"] == "Accepted: Lima Energia is yours. Get in touch now."


async def test_notification_decline_opens_that_offers_decline_sheet(
    client: Client, auth: dict[str, str]
) -> None:
    offer = await offered_to(client, auth, [])

    opened = await client.get(f"/r/{offer['token']}?offer={offer['offer_id']}&decline=1")
    plain = await client.get(f"/r/{offer['token']}?offer={offer['offer_id']}")
    lead = (await client.get(f"/api/v1/leads/{offer['lead_id']}", headers=auth)).json()

    sheet = parse(opened.text).one("data-offer", offer["offer_id"]).tags("details")[0]
    closed = parse(plain.text).one("data-offer", offer["offer_id"]).tags("details")[0]
    assert ("open" in sheet.attrs, "open" in closed.attrs) == (True, False)
    assert [o["status"] for o in lead["offers"]] == ["pending"]
