"""The console's rules: health flags on the list and the dashboard, and replaying a proposal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.pursuit.models import Lead, Offer
from tests.console.html import Element, parse
from tests.console.test_console import HTMX, page, sign_in
from tests.factories import Client, make_agent, make_rule, post_lead

YESTERDAY = datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture
async def roster(client: Client, auth: dict[str, str]) -> dict[str, str]:
    """Ana takes Brazil (two leads yesterday); Bruno is inactive; nobody asks for Chile."""
    ana = await make_agent(client, auth, "Ana")
    bruno = await make_agent(client, auth, "Bruno", active=False)
    await make_rule(client, auth, "Brazil", [ana], conditions={"country": ["BR"]}, priority=1)
    await make_rule(client, auth, "Chile", [ana], conditions={"country": ["CL"]}, priority=2)
    await make_rule(client, auth, "Reserve", [bruno], priority=3)
    yesterday = datetime.combine(YESTERDAY, time(12), UTC)
    for number in (1, 2):
        received = (yesterday + timedelta(minutes=number)).isoformat()
        await post_lead(
            client, auth, f"B{number}", received_at=received, phone=f"+5511991230{number}"
        )
    return {"ana": ana, "bruno": bruno}


def health(document: Element) -> dict[str, list[str]]:
    return {
        row.one("data-name").text: [flag.text for flag in row.all("data-flag")]
        for row in document.all("data-rule", tag="tr")
    }


async def test_rules_page_flags_rules_with_the_reason(
    client: Client, sessions: Any, roster: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console/rules")

    assert health(document) == {
        "Brazil": [],
        "Chile": ["No lead of the last 30 days met its conditions (2 read)."],
        "Reserve": ["No agent in its pool can take a lead now. Bruno: inactive."],
    }
    assert document.one("data-flagged").text == "2 rules need a look."


async def test_dashboard_counts_flagged_rules(
    client: Client, sessions: Any, roster: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console")

    alerts = document.all("data-alert", "rule")
    assert len(alerts) == 2
    assert [a.tags("a")[0].attrs["href"] for a in alerts] == ["/console/rules"] * 2


@pytest.mark.parametrize("path", ["/console/rules", "/console/rules/replay"])
async def test_rules_pages_signed_out_redirect_to_login(client: Client, path: str) -> None:
    response = await client.get(path)

    assert (response.status_code, response.headers["location"]) == (303, "/console/login")


def proposal(roster: dict[str, str]) -> str:
    split = {"name": "Split", "pool": {"agent_ids": [roster["ana"], roster["bruno"]]}}
    return json.dumps({"rules": [split], "agents": [{"id": roster["bruno"], "active": True}]})


async def post_replay(
    client: Client, rules: str = "", file: bytes | None = None, htmx: bool = True
) -> Any:
    yesterday = YESTERDAY.isoformat()
    headers = {"x-csrftoken": client.cookies["pursuit_csrf"], **(HTMX if htmx else {})}
    upload = ("proposal.json", file, "application/json") if file else ("", b"", "text/plain")
    return await client.post(
        "/console/rules/replay",
        data={"since": yesterday, "until": yesterday, "rules": rules},
        files={"file": upload},
        headers=headers,
    )


def agent_rows(document: Element) -> dict[str, list[str]]:
    return {
        row.tags("td")[0].text: [cell.text for cell in row.tags("td")[1:]]
        for row in document.all("data-replay-agent", tag="tr")
    }


async def test_replay_form_starts_from_the_active_rules(
    client: Client, sessions: Any, roster: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console/rules/replay")

    pasted = json.loads(document.tags("textarea")[0].text)
    assert [r["name"] for r in pasted["rules"]] == ["Brazil", "Chile", "Reserve"]
    assert document.one("id", "replay-result").text == ""


async def test_replay_answers_a_fragment_with_proposed_beside_actual(
    client: Client, sessions: Any, roster: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    await page(client, "/console/rules/replay")

    async def stored() -> tuple[int | None, int | None]:
        async with sessions() as session:
            leads = await session.scalar(select(func.count()).select_from(Lead))
            offers = await session.scalar(select(func.count()).select_from(Offer))
        return leads, offers

    before = await stored()
    response = await post_replay(client, proposal(roster))

    assert response.status_code == 200, response.text
    document = parse(response.text)
    assert document.tags("section")[0].attrs["id"] == "replay-result"
    assert [r.one("data-leads").text for r in document.all("data-replay-rule")] == ["2"]
    # Round robin with Bruno back: one lead each, where Ana really was offered both.
    assert agent_rows(document) == {"Ana": ["1", "1", "2", "0"], "Bruno": ["1", "1", "0", "0"]}
    assert len(document.all("data-chart")) == 1
    assert await stored() == before == (2, 2)


async def test_replay_reads_an_uploaded_file_as_a_full_page(
    client: Client, sessions: Any, roster: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    await page(client, "/console/rules/replay")
    only_ana = json.dumps([{"name": "Ana only", "pool": {"agent_ids": [roster["ana"]]}}])

    response = await post_replay(client, "ignored", file=only_ana.encode(), htmx=False)

    assert response.status_code == 200, response.text
    document = parse(response.text)
    assert document.tags("h1")[0].text == "Replay a proposal"
    assert agent_rows(document) == {"Ana": ["2", "2", "2", "0"]}


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("", "Paste the proposed rules, or choose a file of them."),
        ('[{"name": "x", "strategy": "coin"}]', "Rule 1: Strategy 'coin' is not one of"),
    ],
)
async def test_replay_refuses_a_bad_proposal_with_the_reason(
    client: Client, sessions: Any, roster: dict[str, str], rules: str, message: str
) -> None:
    await sign_in(client, sessions)
    await page(client, "/console/rules/replay")

    response = await post_replay(client, rules)

    assert response.status_code == 422
    assert parse(response.text).one("data-message").text.startswith(message)
