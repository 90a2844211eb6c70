"""Changing and switching off routing rules through the API."""

from __future__ import annotations

from tests.factories import Client, make_agent, make_rule, post_lead


async def test_rule_change_keeps_what_was_not_named(client: Client, auth: dict[str, str]) -> None:
    ana = await make_agent(client, auth, "Ana")
    rule = await make_rule(client, auth, "Brazil", [ana], conditions={"country": ["BR"]})

    response = await client.patch(
        f"/api/v1/rules/{rule}", json={"priority": 5, "strategy": "least_loaded"}, headers=auth
    )
    shown = await client.get(f"/api/v1/rules/{rule}", headers=auth)

    assert response.status_code == 200
    assert shown.json() == {
        **response.json(),
        "name": "Brazil",
        "priority": 5,
        "strategy": "least_loaded",
        "conditions": {"country": ["BR"]},
        "pool": {"agent_ids": [ana], "team_ids": [], "partner_ids": []},
    }


async def test_bad_rule_change_is_refused_and_changes_nothing(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    rule = await make_rule(client, auth, "Any", [ana])

    refused = await client.patch(
        f"/api/v1/rules/{rule}", json={"strategy": "dice", "priority": 1}, headers=auth
    )
    loop = await client.patch(
        f"/api/v1/rules/{rule}", json={"escalate_to_rule_id": rule}, headers=auth
    )
    missing = await client.patch("/api/v1/rules/nope", json={"priority": 1}, headers=auth)
    shown = (await client.get(f"/api/v1/rules/{rule}", headers=auth)).json()

    assert (refused.status_code, loop.status_code, missing.status_code) == (422, 422, 404)
    assert loop.json()["detail"] == "A rule cannot escalate to itself."
    assert (shown["strategy"], shown["priority"]) == ("round_robin", 100)


async def test_switched_off_rule_routes_nothing_and_stays_listed(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    rule = await make_rule(client, auth, "Only", [ana])

    response = await client.delete(f"/api/v1/rules/{rule}", headers=auth)
    lead = await post_lead(client, auth, "off-1")
    listed = (await client.get("/api/v1/rules", headers=auth)).json()["items"]

    assert response.status_code == 204
    assert (lead["status"], lead["offer"]) == ("unassigned", None)
    assert [(r["id"], r["active"]) for r in listed] == [(rule, False)]


async def test_rule_change_naming_an_unknown_field_is_refused(
    client: Client, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    rule = await make_rule(client, auth, "Any", [ana])

    response = await client.patch(f"/api/v1/rules/{rule}", json={"colour": "red"}, headers=auth)

    assert response.status_code == 400
    assert "colour" in response.json()["detail"]
