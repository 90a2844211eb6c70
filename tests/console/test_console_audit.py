"""The audit log page and its CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.console.html import parse
from tests.console.people import csrf, sign_in_as
from tests.factories import Client, make_agent


async def test_audit_lists_api_and_console_changes_and_filters_them(
    client: Client, sessions: Any, auth: dict[str, str]
) -> None:
    ana = await make_agent(client, auth, "Ana")
    await client.patch(f"/api/v1/agents/{ana}", json={"capacity": 5}, headers=auth)
    await sign_in_as(client, sessions, "admin@example.com", "admin")
    await client.post("/console/teams", data={"name": "=HYPERLINK(1)"}, headers=csrf(client))

    everything = parse((await client.get("/console/audit")).text)
    agents_only = parse((await client.get("/console/audit?entity=agent")).text)
    by_api = parse((await client.get("/console/audit?who=api:tests")).text)
    bad = await client.get("/console/audit?since=yesterday")
    exported = await client.get("/console/audit.csv?entity=team")

    rows = everything.all("data-entry")
    assert [r.one("data-what").text.rsplit(" ", 1)[0] for r in rows] == [
        "team create",
        "user create",
        "agent update",
        "agent create",
    ]
    assert len(agents_only.all("data-entry")) == 2
    assert {r.one("data-actor").text for r in by_api.all("data-entry")} == {"api:tests"}
    assert bad.status_code == 422
    assert parse(bad.text).one("data-problem").text == "since must be a date such as 2026-12-01."
    assert exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text)))
    assert table[0] == ["at", "actor", "entity", "entity_id", "action", "before", "after"]
    assert table[1][1].startswith("user:")
    assert table[1][2:5:2] == ["team", "create"]
    assert table[1][5] == "null"
    assert table[1][6].startswith('{"id": ') and table[1][6].endswith('"name": "=HYPERLINK(1)"}')
    assert len(table) == 2


async def test_roster_export_escapes_formulas_commas_and_quotes(
    client: Client, sessions: Any, auth: dict[str, str]
) -> None:
    await make_agent(client, auth, "=cmd|calc", products=["solar, wind"], languages=["pt"])
    await make_agent(client, auth, 'Ana "A" Souza', email="ana@example.com", tier=2)
    await sign_in_as(client, sessions, "admin@example.com", "admin")

    exported = await client.get("/console/agents.csv")

    lines = exported.text.split("\r\n")
    assert lines[0] == (
        "name,email,phone,team,partner,territories,products,languages,tier,capacity,"
        "timezone,working_hours,active"
    )
    assert lines[1] == "'=cmd|calc,'=cmd|calc@example.com,,,,,\"solar, wind\",pt,1,25,UTC,,yes"
    assert lines[2] == '"Ana ""A"" Souza",ana@example.com,,,,,,,2,25,UTC,,yes'
