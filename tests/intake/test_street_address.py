"""A street line on an inquiry: kept as written, shown on the lead, filled in by a repeat."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from backend.intake.importer import lead_key, parse_csv_bytes
from tests.factories import lead_body


async def post(
    client: httpx.AsyncClient, auth: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post("/api/v1/leads", json=body, headers=auth)
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def test_street_address_is_kept_as_written_and_shown_on_the_lead(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    body = lead_body("s-1", address="  Rua Augusta, 1500 - apto 42 ")

    created = await post(client, auth, body)
    lead = (await client.get(f"/api/v1/leads/{created['lead_id']}", headers=auth)).json()

    assert lead["address"] == "Rua Augusta, 1500 - apto 42"
    assert lead["inquiries"][0]["payload"]["address"] == "  Rua Augusta, 1500 - apto 42 "


async def test_a_repeat_inquiry_fills_in_a_missing_street_address(
    client: httpx.AsyncClient, auth: dict[str, str], rep: str
) -> None:
    first = await post(client, auth, lead_body("s-2", email="rita@example.org"))

    again = await post(
        client, auth, lead_body("s-3", email="rita@example.org", address="12 Smith Street")
    )
    lead = (await client.get(f"/api/v1/leads/{first['lead_id']}", headers=auth)).json()

    assert (again["lead_id"], again["coalesced"]) == (first["lead_id"], True)
    assert lead["address"] == "12 Smith Street"


async def test_street_address_that_is_not_text_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    body = lead_body("s-4", address=12)

    response = await client.post("/api/v1/leads", json=body, headers=auth)

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "The request is not valid: address must be text, not a whole number."
    )


@pytest.mark.parametrize(
    "header",
    ["Address", "Street", "Street Address", "Address Line 1", "address_1", "Endereço"],
)
def test_street_address_headers_map_to_address(header: str) -> None:
    assert lead_key(header) == "address"


def test_csv_street_address_column_reaches_the_row() -> None:
    text = 'Name,Email,Street Address,Zip\nAna Reis,a@example.org,"4/12 Smith St",02134\n'

    batch = parse_csv_bytes(text.encode(), "x.csv")

    assert batch.mapping == [
        ("Name", "name"),
        ("Email", "email"),
        ("Street Address", "address"),
        ("Zip", "postal_code"),
    ]
    assert batch.rows == [
        {
            "first_name": "Ana",
            "last_name": "Reis",
            "email": "a@example.org",
            "address": "4/12 Smith St",
            "postal_code": "02134",
            "source": "csv",
        }
    ]
