"""The public web form: what a visitor, a company's own site and a bot each get."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from backend.errors import BadInput
from backend.identity.service import split_phone
from backend.intake.models import Inquiry
from tests.intake.conftest import make_inlet


async def _inquiries(sessions: Any) -> list[Inquiry]:
    async with sessions() as session:
        return list((await session.scalars(select(Inquiry).order_by(Inquiry.received_at))).all())


async def test_form_post_becomes_a_routed_lead(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    await make_inlet(client, auth, default_country="BR")
    form = {
        "name": "José da Silva",
        "email": "Jose@Example.org",
        "phone": "(11) 99123-4567",
        "message": "Quero um orçamento",
        "website": "",
    }

    response = await client.post("/f/contact", data=form)

    assert response.status_code == 303
    assert response.headers["location"] == "/f/contact/thanks"
    [inquiry] = await _inquiries(sessions)
    assert (inquiry.inlet, inquiry.source, inquiry.status) == ("form", "web", "processed")
    lead = (await client.get(f"/api/v1/leads/{inquiry.lead_id}", headers=auth)).json()
    assert lead["status"] == "offered"
    assert lead["offers"][0]["agent_id"] == rep
    assert inquiry.payload["first_name"] == "José"
    assert inquiry.payload["last_name"] == "da Silva"
    assert inquiry.payload["country"] == "BR"


async def test_form_field_mapping_and_extra_fields(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    mapping = {"your-name": "name", "your-email": "email", "cep": "postal_code", "note": "message"}
    await make_inlet(client, auth, slug="quote", field_map=mapping)
    form = {
        "your-name": "Rita",
        "your-email": "rita@example.org",
        "cep": "01310",
        "note": "Call me",
        "budget": "about 5k",
    }

    page = await client.get("/f/quote")
    response = await client.post("/f/quote", files={k: (None, v) for k, v in form.items()})

    shown = re.findall(r'<(?:input|textarea)[^>]*\bname="([^"]+)"', page.text)
    assert [name for name in shown if name not in ("website", "_csrf_token")] == [
        "your-name",
        "your-email",
        "phone",
        "company",
        "note",
        "cep",
    ]
    assert response.status_code == 303
    [inquiry] = await _inquiries(sessions)
    assert inquiry.payload["first_name"] == "Rita"
    assert inquiry.payload["email"] == "rita@example.org"
    assert inquiry.payload["postal_code"] == "01310"
    assert inquiry.payload["message"] == "Call me\nbudget: about 5k"


async def test_form_honeypot_thanks_but_keeps_it_as_spam(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    await make_inlet(client, auth, thank_you_url="https://example.com/thanks")

    response = await client.post(
        "/f/contact", data={"email": "bot@example.org", "website": "http://spam.example"}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "https://example.com/thanks"
    [inquiry] = await _inquiries(sessions)
    assert (inquiry.status, inquiry.lead_id) == ("spam", None)
    assert inquiry.error == "The hidden website field was filled in, as only bots do."
    assert inquiry.payload["raw"]["fields"]["website"] == "http://spam.example"


async def test_form_rate_limit_answers_429_with_a_sentence(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    await make_inlet(client, auth)
    for number in range(10):
        ok = await client.post("/f/contact", data={"email": f"p{number}@example.org"})
        assert ok.status_code == 303

    response = await client.post("/f/contact", data={"email": "p10@example.org"})

    assert response.status_code == 429
    assert response.headers["retry-after"] == "60"
    assert "Too many messages were sent from your network just now" in response.text


async def test_form_bad_email_shows_the_form_again_and_keeps_the_post(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: Any
) -> None:
    await make_inlet(client, auth)

    response = await client.post("/f/contact", data={"name": "Rita", "email": "rita@"})

    assert response.status_code == 422
    assert "email &#39;rita@&#39; is not a valid address" in response.text
    assert 'value="Rita"' in response.text
    [inquiry] = await _inquiries(sessions)
    assert inquiry.status == "failed"
    assert inquiry.error is not None and inquiry.error.startswith("email 'rita@' is not a valid")
    assert inquiry.payload == {
        "raw": {"kind": "form", "inlet": "contact", "fields": {"name": "Rita", "email": "rita@"}}
    }


async def test_form_empty_post_says_what_is_needed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await make_inlet(client, auth)

    response = await client.post("/f/contact", data={"message": "hello"})

    assert response.status_code == 422
    assert "An inquiry needs at least a name, a company, an email or a phone." in response.text


@pytest.mark.parametrize("path", ["/f/nowhere", "/f/nowhere/thanks"])
async def test_form_unknown_slug_is_404_page(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert "There is no form at this address." in response.text


async def test_form_post_needs_no_csrf_token_and_json_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await make_inlet(client, auth)

    response = await client.post("/f/contact", json={"email": "a@example.org"})

    assert response.status_code == 415
    assert "Send the form as application/x-www-form-urlencoded" in response.text


async def test_form_page_lists_the_fields_and_the_trap(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await make_inlet(client, auth)

    response = await client.get("/f/contact")

    assert response.status_code == 200
    assert "<h1>Talk to sales</h1>" in response.text
    for name in ("name", "email", "phone", "company", "message", "website"):
        assert f'name="{name}"' in response.text
    assert 'type="email"' in response.text and 'type="tel"' in response.text


async def test_form_phone_dialled_with_00_is_read_as_international(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    await make_inlet(client, auth, default_country="BR")

    response = await client.post("/f/contact", data={"phone": "0044 20 7946 0018"})

    assert response.status_code == 303
    [inquiry] = await _inquiries(sessions)
    lead = (await client.get(f"/api/v1/leads/{inquiry.lead_id}", headers=auth)).json()
    assert lead["phone"] == "+442079460018"


async def test_form_phone_errors_are_our_own_sentences(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await make_inlet(client, auth, default_country="BR")

    words = await client.post("/f/contact", data={"phone": "call me"})
    unknown = await client.post("/f/contact", data={"phone": "+999 1234 5678"})

    assert words.status_code == 422
    assert "phone &#39;call me&#39; is not a phone number." in words.text
    assert unknown.status_code == 422
    assert "phone &#39;+999 1234 5678&#39; starts with a country code that does not exist." in (
        unknown.text
    )
    assert "(1)" not in words.text + unknown.text


def test_phone_read_in_an_unknown_country_says_so() -> None:
    with pytest.raises(BadInput) as refused:
        split_phone("11 3456 7890", "XX")

    assert refused.value.message == (
        "phone '11 3456 7890' has no country code and 'XX' is not a country to read it in; "
        "write it as +<country code> <number>."
    )


async def test_form_control_character_is_refused_and_not_echoed(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await make_inlet(client, auth, default_country="BR")
    form = {"name": "Ri\x00ta", "email": "rita@example.org", "message": "Oi\nTudo\tbem"}

    response = await client.post("/f/contact", data=form)

    assert response.status_code == 422
    assert (
        "first_name contains the control character U+0000; remove it and send it again."
        in response.text
    )
    assert "\x00" not in response.text
    assert 'value="Rita"' in response.text
    assert [r.getMessage() for r in caplog.records if "\x00" in r.getMessage()] == []
    [inquiry] = await _inquiries(sessions)
    assert inquiry.status == "failed"
    assert inquiry.payload["raw"]["fields"]["name"] == "Ri\x00ta"


async def test_form_street_address_field_reaches_the_lead(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str, sessions: Any
) -> None:
    await make_inlet(client, auth, slug="visit", field_map={"rua": "address"})
    form = {"name": "Rita Lima", "email": "rita@example.org", "rua": "Rua Augusta, 1500"}

    page = await client.get("/f/visit")
    response = await client.post("/f/visit", data=form)

    [address_input] = re.findall(r'<input[^>]*\bname="rua"[^>]*>', page.text)
    assert 'autocomplete="address-line1"' in address_input
    assert "Street address" in page.text
    assert response.status_code == 303
    [inquiry] = await _inquiries(sessions)
    lead = (await client.get(f"/api/v1/leads/{inquiry.lead_id}", headers=auth)).json()
    assert lead["address"] == "Rua Augusta, 1500"


async def test_form_control_character_in_a_mapped_field_is_refused_whole(
    client: httpx.AsyncClient, auth: dict[str, str], sessions: Any
) -> None:
    await make_inlet(client, auth, slug="visit", field_map={"addr2": "address"})
    form = {"name": "Bo Smith", "email": "bo@example.org", "addr2": "1 Main\x00 St Apt 4"}

    response = await client.post("/f/visit", data=form)

    assert response.status_code == 422
    assert "address contains the control character U+0000" in response.text
    [inquiry] = await _inquiries(sessions)
    assert inquiry.payload["raw"]["fields"]["addr2"] == "1 Main\x00 St Apt 4"
