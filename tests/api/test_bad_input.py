"""Bad requests get a 4xx with a sentence, and leave nothing half-stored."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Client, lead_body, link_for, make_agent, make_rule, post_lead


@pytest.mark.parametrize(
    ("changes", "status", "detail"),
    [
        ({"email": "rita@"}, 422, "email 'rita@' is not a valid address"),
        ({"phone": "12"}, 422, "phone '12' has the wrong number of digits."),
        ({"phone": "fields"}, 422, "phone 'fields' is not a phone number."),
        (
            {"country": "Brazil"},
            422,
            "country 'Brazil' must be a 2-letter ISO code such as 'BR'.",
        ),
        (
            {"country": "XX"},
            422,
            "country 'XX' is not an ISO 3166 country code such as 'BR' or 'PT'.",
        ),
        ({"value": -5}, 422, "value -5.0 must not be negative."),
        (
            {"value": 1e308},
            422,
            "value 1e+308 is not a plausible deal size; the most is 1,000,000,000,000.",
        ),
        ({"currency": "reais"}, 422, "currency 'reais' must be a 3-letter ISO code such as 'BRL'."),
        (
            {"currency": "lol"},
            422,
            "currency 'LOL' is not an ISO 4217 currency code such as 'BRL' or 'EUR'.",
        ),
        (
            {"received_at": "2999-01-01T00:00:00Z"},
            422,
            "received_at 2999-01-01T00:00:00+00:00 is in the future.",
        ),
        (
            {"received_at": "0001-01-01T00:00:00Z"},
            422,
            "received_at 0001-01-01T00:00:00+00:00 is before 2000-01-01; "
            "give the time the inquiry was really received.",
        ),
        (
            {"received_at": "0001-01-01T00:00:00+05:00"},
            422,
            "received_at 0001-01-01T00:00:00+05:00 is before 2000-01-01; "
            "give the time the inquiry was really received.",
        ),
        ({"source": "  "}, 422, "source must name where the inquiry came from, such as 'web'."),
        ({"value": "a lot"}, 400, "The request is not valid: value must be a number, not text."),
    ],
)
async def test_bad_lead_is_refused_and_nothing_is_stored(
    client: Client, auth: dict[str, str], changes: dict[str, Any], status: int, detail: str
) -> None:
    response = await client.post("/api/v1/leads", json=lead_body("b1", **changes), headers=auth)
    listing = await client.get("/api/v1/leads", headers=auth)

    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    assert listing.json()["items"] == []


async def test_lead_without_any_way_to_reach_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    response = await client.post("/api/v1/leads", json={"source": "web"}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"] == (
        "An inquiry needs at least a name, a company, an email or a phone."
    )


async def test_broken_json_is_a_400_with_a_sentence(client: Client, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/leads",
        content=b'{"source": "web",',
        headers={**auth, "content-type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The request is not valid")


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"", "The request is not valid: the body is empty; send a JSON object."),
        (
            b"[1]",
            "The request is not valid: the body must be a JSON object "
            "(expected `object`, got `array`).",
        ),
    ],
)
async def test_body_that_is_no_object_says_so(
    client: Client, auth: dict[str, str], body: bytes, detail: str
) -> None:
    response = await client.post(
        "/api/v1/leads", content=body, headers={**auth, "content-type": "application/json"}
    )

    assert (response.status_code, response.json()["detail"]) == (400, detail)


@pytest.mark.parametrize(
    ("headers", "status", "detail"),
    [
        ({}, 401, "Send an 'Authorization: Bearer <token>' header."),
        (
            {"Authorization": "Basic abc"},
            401,
            "The Authorization header must read 'Bearer <token>'.",
        ),
        (
            {"Authorization": "Bearer pk_nope"},
            401,
            "The bearer token is not valid: it is unknown, revoked or expired.",
        ),
    ],
)
async def test_intake_needs_an_api_key(
    client: Client, headers: dict[str, str], status: int, detail: str
) -> None:
    response = await client.post("/api/v1/leads", json=lead_body("a1"), headers=headers)

    assert (response.status_code, response.json()["detail"]) == (status, detail)


async def test_a_link_token_cannot_submit_leads_or_read_others(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno")
    await make_rule(client, auth, "all", [ana])
    lead = await post_lead(client, auth, "t1")
    bruno_link = await link_for(client, auth, bruno)

    submit = await client.post("/api/v1/leads", json=lead_body("t2"), headers=bruno_link)
    peek = await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=bruno_link)

    assert submit.status_code == 403
    assert peek.status_code == 404


async def test_revoked_link_stops_working(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")
    link = await link_for(client, auth, ana)

    revoked = await client.delete(f"/api/v1/agents/{ana}/links", headers=auth)
    after = await client.get("/api/v1/me/queue", headers=link)

    assert revoked.status_code == 204
    assert after.status_code == 401


async def test_bad_decline_reason_changes_nothing(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "all", [ana])
    link = await link_for(client, auth, ana)
    lead = await post_lead(client, auth, "r1")

    response = await client.post(
        f"/api/v1/offers/{lead['offer']['id']}/decline", json={"reason": "bored"}, headers=link
    )
    after = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=auth)).json()

    assert response.status_code == 422
    assert response.json()["detail"].startswith("Decline reason 'bored' is not one of not_a_fit")
    assert after["offers"][0]["status"] == "pending"


async def test_overlong_notes_are_refused_and_change_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "all", [ana])
    link = await link_for(client, auth, ana)
    lead = await post_lead(client, auth, "n1")
    offer = f"/api/v1/offers/{lead['offer']['id']}"
    essay = "x" * 4001

    declined = await client.post(
        f"{offer}/decline", json={"reason": "other", "note": essay}, headers=link
    )
    await client.post(f"{offer}/accept", headers=link)
    logged = await client.post(
        f"/api/v1/leads/{lead['lead_id']}/activities",
        json={"kind": "call", "outcome": "connected", "note": essay},
        headers=link,
    )
    after = (await client.get(f"/api/v1/leads/{lead['lead_id']}", headers=auth)).json()

    assert (declined.status_code, logged.status_code) == (422, 422)
    assert logged.json()["detail"] == "A note is at most 4,000 characters; this one has 4,001."
    assert (after["status"], after["activities"]) == ("accepted", [])


@pytest.mark.parametrize(
    ("rule", "detail"),
    [
        (
            {"strategy": "random"},
            "Strategy 'random' is not one of score, round_robin, weighted_round_robin, "
            "least_loaded, broadcast.",
        ),
        ({"conditions": {"weather": ["sunny"]}}, "Unknown rule condition weather; use country"),
        ({"pool": {"agent_ids": ["nobody"]}}, "The pool names agent nobody, which does not exist."),
        ({"pool": {}}, "A rule's pool needs at least one of agent_ids, team_ids or partner_ids."),
        (
            {"conditions": {"country": []}},
            "Condition country lists no values; leave it out to accept any country.",
        ),
        ({"name": "a\u0000b"}, "A rule needs a name of 1 to 200 characters."),
        (
            {"conditions": {"country": ["Brazil"]}},
            "Condition country 'Brazil' must be a 2-letter ISO code such as 'BR'.",
        ),
        (
            {"conditions": {"country": ["zz"]}},
            "Condition country 'ZZ' is not an ISO 3166 country code such as 'BR'.",
        ),
        (
            {"accept_timeout_s": 0},
            "accept_timeout_s must be a whole number of seconds from 1 to 2,592,000.",
        ),
    ],
)
async def test_bad_rule_is_refused(
    client: Client, auth: dict[str, str], rule: dict[str, Any], detail: str
) -> None:
    response = await client.post("/api/v1/rules", json={"name": "r", **rule}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


@pytest.mark.parametrize(
    ("agent", "detail"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone 'Mars/Olympus' is not an IANA time zone"),
        ({"working_hours": {"mon": [["9", "18"]]}}, "working_hours mon has ['9', '18']"),
        ({"kind": "robot"}, "kind 'robot' must be employee or partner."),
        ({"territories": [{"planet": "earth"}]}, "A territory uses country, postal_prefix, region"),
        (
            {"territories": [{"country": "Brazil"}]},
            "territory country 'Brazil' must be a 2-letter ISO code such as 'BR'.",
        ),
        (
            {"territories": [{"country": "QQ"}]},
            "territory country 'QQ' is not an ISO 3166 country code such as 'BR' or 'PT'.",
        ),
        (
            {"working_hours": {"mon": [["09:00", "09:00"]]}},
            "working_hours mon has ['09:00', '09:00'], which is no time at all",
        ),
        ({"kind": "partner"}, "A partner rep needs the partner_id of their company."),
        ({"timezone": "localtime"}, "timezone 'localtime' is not an IANA time zone"),
        (
            {"territories": [{"postal_prefix": " "}]},
            "A territory's postal_prefix is empty; leave it out to cover any.",
        ),
        ({"name": "a\u0000b"}, "The agent's name contains a NUL character."),
    ],
)
async def test_bad_agent_is_refused(
    client: Client, auth: dict[str, str], agent: dict[str, Any], detail: str
) -> None:
    response = await client.post("/api/v1/agents", json={"name": "X", **agent}, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(detail)


async def test_oversized_body_is_413(client: Client, auth: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/leads", json=lead_body("big", message="x" * 3_000_000), headers=auth
    )

    assert response.status_code == 413


async def test_idempotency_key_replays_the_first_answer(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await make_rule(client, auth, "all", [ana])
    link = await link_for(client, auth, ana)
    lead = await post_lead(client, auth, "i1")
    headers = {**link, "Idempotency-Key": "tap-1"}

    first = await client.post(f"/api/v1/offers/{lead['offer']['id']}/accept", headers=headers)
    second = await client.post(f"/api/v1/offers/{lead['offer']['id']}/accept", headers=headers)

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()


async def test_idempotency_key_reused_for_other_content_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    headers = {**auth, "Idempotency-Key": "form-7"}
    first = await client.post("/api/v1/leads", json=lead_body("v-i1"), headers=headers)

    repeat = await client.post("/api/v1/leads", json=lead_body("v-i1"), headers=headers)
    other = await client.post("/api/v1/leads", json=lead_body("v-i2"), headers=headers)
    listed = await client.get("/api/v1/leads", headers=auth)

    assert (first.status_code, repeat.status_code, other.status_code) == (201, 201, 409)
    assert other.json()["detail"] == (
        "This Idempotency-Key was already used for a different request; "
        "use a new key for new content."
    )
    assert [lead["id"] for lead in listed.json()["items"]] == [first.json()["lead_id"]]


@pytest.mark.parametrize(
    ("changes", "status", "detail"),
    [
        ({"capacity": "ten"}, 400, "The request is not valid: capacity must be a whole number"),
        ({"capacity": None}, 400, "The request is not valid: capacity must be a whole number"),
        ({"tier": "gold"}, 400, "The request is not valid: tier must be a whole number, not text."),
        ({"territories": [{"country": 5}]}, 422, "A territory's country must be text."),
        ({"shoe_size": 42}, 400, "The request is not valid: shoe_size is not a field this"),
        ({"capacity": -1}, 422, "capacity must be between 0 and 1,000,000."),
        ({"email": "not an email"}, 422, "email 'not an email' is not a valid address"),
        ({"name": "x" * 201}, 422, "The agent's name is at most 200 characters."),
    ],
)
async def test_bad_agent_change_is_refused_and_changes_nothing(
    client: Client, auth: dict[str, str], changes: dict[str, Any], status: int, detail: str
) -> None:
    ana = await make_agent(client, auth, "Ana", capacity=7)

    response = await client.patch(f"/api/v1/agents/{ana}", json=changes, headers=auth)
    after = (await client.get(f"/api/v1/agents/{ana}", headers=auth)).json()

    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    assert (after["name"], after["capacity"], after["tier"]) == ("Ana", 7, 1)


async def test_agent_change_sets_out_of_office(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")

    response = await client.patch(
        f"/api/v1/agents/{ana}", json={"out_of_office_until": "2030-01-01T00:00:00Z"}, headers=auth
    )

    assert response.status_code == 200
    assert response.json()["out_of_office_until"] == "2030-01-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("source", 100),
        ("external_id", 200),
        ("region", 100),
        ("postal_code", 20),
        ("address", 300),
        ("language", 16),
    ],
)
async def test_overlong_lead_field_is_refused(
    client: Client, auth: dict[str, str], field: str, limit: int
) -> None:
    body = {**lead_body("long1"), field: "x" * (limit + 1)}

    response = await client.post("/api/v1/leads", json=body, headers=auth)

    assert response.status_code == 422
    assert response.json()["detail"] == f"{field} is longer than {limit} characters."


async def test_working_day_until_midnight_routes_and_replays(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana", working_hours={"thu": [["09:00", "24:00"]]})
    await make_rule(client, auth, "all", [ana])

    first = await client.post("/api/v1/leads", json=lead_body("retry1"), headers=auth)
    again = await client.post("/api/v1/leads", json=lead_body("retry1"), headers=auth)

    assert first.status_code == 201
    assert again.status_code == 200 and again.json()["lead_id"] == first.json()["lead_id"]


async def test_out_of_office_without_offset_reads_as_utc(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")

    response = await client.patch(
        f"/api/v1/agents/{ana}", json={"out_of_office_until": "2030-01-01T00:00:00"}, headers=auth
    )

    assert response.status_code == 200
    assert response.json()["out_of_office_until"] == "2030-01-01T00:00:00+00:00"


async def test_deeply_nested_body_is_a_400(client: Client, auth: dict[str, str]) -> None:
    body = b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}"

    response = await client.post(
        "/api/v1/leads", content=body, headers={**auth, "content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["detail"] == "The request is not valid: its JSON is nested too deeply."


async def test_every_400_names_a_stable_code(client: Client, auth: dict[str, str]) -> None:
    broken = await client.post(
        "/api/v1/leads", content=b"{", headers={**auth, "content-type": "application/json"}
    )
    wrong_type = await client.post("/api/v1/leads", json={"source": 5}, headers=auth)

    assert [r.json()["extra"]["code"] for r in (broken, wrong_type)] == [
        "bad_request",
        "bad_request",
    ]
