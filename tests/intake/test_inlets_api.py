"""`/api/v1/inlets`: creating, listing and changing inlets, and the sentences refusing them."""

from __future__ import annotations

import httpx
import pytest

from backend.settings import Settings
from tests.intake.conftest import make_inlet


async def test_inlet_is_created_listed_and_changed(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    created = await make_inlet(client, auth, field_map={"your-email": "email"})

    listed = await client.get("/api/v1/inlets", headers=auth)
    closed = await client.patch("/api/v1/inlets/contact", json={"active": False}, headers=auth)
    page = await client.get("/f/contact")

    assert {k: created[k] for k in ("slug", "kind", "source", "name", "active")} == {
        "slug": "contact", "kind": "form", "source": "web", "name": "Talk to sales", "active": True,
    }  # fmt: skip
    assert created["field_map"] == {"your-email": "email"}
    assert [item["slug"] for item in listed.json()["items"]] == ["contact"]
    assert closed.json()["active"] is False
    assert page.status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"kind": "fax"}, 422, "kind 'fax' must be one of form, email, csv."),
        ({"slug": "Contact Us"}, 422, "slug 'Contact Us' must be 1 to 64 lower-case letters, "
         "digits or dashes, starting with a letter or digit, such as 'contact-us'."),
        ({"field_map": {"x": "shoe_size"}}, 422, "field_map sends 'x' to 'shoe_size', which is "
         "not one of name, first_name, last_name, email, phone, company, country, region, city, "
         "postal_code, address, product, language, campaign, message, value, currency, "
         "external_id."),
        ({"field_map": {"website": "email"}}, 422,
         "field_map cannot use the field name 'website'."),
        ({"thank_you_url": "javascript:alert(1)"}, 422,
         "thank_you_url 'javascript:alert(1)' must be an http or https address."),
        ({"default_country": "Brazil"}, 422,
         "default_country 'Brazil' must be a 2-letter ISO code such as 'BR'."),
        ({"default_country": "qq"}, 422,
         "default_country 'QQ' is not an ISO 3166 country code such as 'BR' or 'PT'."),
        ({"source": " "}, 422, "source must name where its inquiries come from, such as 'web'."),
    ],
)  # fmt: skip
async def test_inlet_bad_settings_are_refused(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    body: dict[str, object],
    status: int,
    detail: str,
) -> None:
    full = {"kind": "form", "slug": "contact", "source": "web", **body}

    response = await client.post("/api/v1/inlets", json=full, headers=auth)

    assert response.status_code == status
    assert response.json()["detail"] == detail


async def test_inlet_slug_is_taken_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    await make_inlet(client, auth)

    again = await client.post(
        "/api/v1/inlets", json={"kind": "email", "slug": "contact", "source": "x"}, headers=auth
    )
    anonymous = await client.get("/api/v1/inlets")

    assert again.status_code == 409
    assert again.json()["detail"] == "An inlet with the slug 'contact' already exists."
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SMTP_INLET_PORT", "smtp",
         "PURSUIT_SMTP_INLET_PORT is 'smtp'; give a port from 1 to 65535."),
        ("FORM_POSTS_PER_MINUTE", "0",
         "PURSUIT_FORM_POSTS_PER_MINUTE is '0'; give a whole number of at least 1."),
    ],
)  # fmt: skip
def test_inlet_settings_refuse_nonsense(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"PURSUIT_{name}", value)

    with pytest.raises(ValueError) as refused:
        Settings.from_env(secret_key="x")

    assert str(refused.value) == message


async def test_inlet_patch_with_an_unknown_country_changes_nothing(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    await make_inlet(client, auth, default_country="BR")

    response = await client.patch(
        "/api/v1/inlets/contact", json={"default_country": "QQ"}, headers=auth
    )

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "default_country 'QQ' is not an ISO 3166 country code such as 'BR' or 'PT'."
    )
    [inlet] = (await client.get("/api/v1/inlets", headers=auth)).json()["items"]
    assert inlet["default_country"] == "BR"
