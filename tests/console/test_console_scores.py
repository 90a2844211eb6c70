"""The scores screens: boards per team and partner, an agent's explanation, and restoring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from backend.roster.service import create_partner, create_team
from backend.scoring import service as scoring
from backend.scoring.models import AgentEvidence
from tests.console.html import Element
from tests.console.test_console import HTMX, page, sign_in
from tests.factories import Client, add_agent

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def scored(sessions: Any) -> dict[str, str]:
    """Ana accepts and contacts fast; Bruno let three offers expire; Nia works for a partner."""
    now = datetime.now(UTC)
    async with sessions() as session:
        team = await create_team(session, "Inside sales")
        partner = await create_partner(session, "North Co")
        ids = {
            "ana": await add_agent(session, "Ana", team_id=team.id),
            "bruno": await add_agent(session, "Bruno", team_id=team.id),
            "nia": await add_agent(session, "Nia", kind="partner", partner_id=partner.id),
            "team": team.id,
            "partner": partner.id,
        }
        for n in range(5):
            offered = now - timedelta(hours=10 - n)
            accepted = offered + 2 * MINUTE
            await scoring.record_offer_outcome(session, ids["ana"], "accepted", offered, accepted)
            await scoring.record_contact(
                session, ids["ana"], accepted, accepted + 20 * MINUTE, accepted + timedelta(days=1)
            )
        for n in range(3):
            offered = now - timedelta(hours=5 - n)
            await scoring.record_offer_outcome(
                session, ids["bruno"], "expired", offered, offered + 30 * MINUTE
            )
        await session.commit()
    return ids


def board_rows(document: Element, board: str) -> list[tuple[str, str, bool]]:
    rows = document.one("data-board", board).all("data-agent", tag="tr")
    return [
        (
            r.one("data-name").text,
            r.one("data-observations").text,
            bool(r.all("data-unreachable-flag")),
        )
        for r in rows
    ]


async def test_scores_page_has_a_board_per_team_and_partner(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console/scores")

    assert board_rows(document, f"team:{scored['team']}") == [
        ("Ana", "25", False),
        ("Bruno", "6", True),
    ]
    assert board_rows(document, f"partner:{scored['partner']}") == [("Nia", "0", False)]
    ana = document.one("data-board", f"team:{scored['team']}").one("data-agent", scored["ana"])
    assert int(ana.one("data-score").text) > 70
    assert ana.one("data-trend").attrs["data-trend"] == ana.one("data-score").text
    assert "Scores" in [a.text for a in document.tags("nav")[0].tags("a")]


async def test_scores_page_lists_unreachable_agents_with_restore(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, "/console/scores")

    listed = document.one("data-unreachable", scored["bruno"])
    assert "Recent offers all expired" in listed.text
    form = listed.tags("form")[0]
    assert form.attrs["hx-post"] == f"/console/scores/{scored['bruno']}/restore"
    assert any(i.attrs.get("name") == "_csrf_token" for i in form.tags("input"))


async def test_restore_with_htmx_answers_the_list_and_records_who(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    await client.get("/console/scores")
    headers = {"x-csrftoken": client.cookies["pursuit_csrf"], **HTMX}

    response = await client.post(f"/console/scores/{scored['bruno']}/restore", headers=headers)

    assert response.status_code == 200
    assert 'id="unreachable"' in response.text
    assert "Bruno is reachable again and will be offered leads." in response.text
    async with sessions() as session:
        row = await session.scalar(
            select(AgentEvidence).where(AgentEvidence.agent_id == scored["bruno"])
        )
        assert await scoring.unreachable_agents(session, [scored["bruno"]]) == set()
    assert row is not None and row.restored_by and row.restored_at is not None


async def test_restore_without_csrf_is_refused(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    response = await client.post(f"/console/scores/{scored['bruno']}/restore", headers=HTMX)

    assert response.status_code == 403
    async with sessions() as session:
        assert await scoring.unreachable_agents(session, [scored["bruno"]]) == {scored["bruno"]}


async def test_restore_from_a_plain_form_goes_to_the_agent(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)
    await client.get("/console/scores")
    headers = {"x-csrftoken": client.cookies["pursuit_csrf"]}

    response = await client.post(f"/console/scores/{scored['bruno']}/restore", headers=headers)
    document = await page(client, f"/console/scores/{scored['bruno']}")

    assert response.status_code == 303
    assert response.headers["location"] == f"/console/scores/{scored['bruno']}"
    assert document.all("data-unreachable-flag") == []


async def test_agent_score_explains_every_part(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"/console/scores/{scored['bruno']}")

    parts = {row.attrs["data-part"]: row for row in document.all("data-part", tag="tr")}
    assert len(parts) == 7
    reach = parts["reach"]
    assert reach.attrs["data-effect"] == "lowers"
    assert reach.one("data-observations").text == "3"
    assert reach.one("data-contribution").text.startswith("-")
    assert document.all("data-unreachable-flag")
    tips = document.one("data-tips").tags("li")
    assert tips[0].text.startswith("Accept more of the leads you are offered: about 3 of your 3")


async def test_agent_score_without_history_says_it_is_the_average(
    client: Client, sessions: Any, scored: dict[str, str]
) -> None:
    await sign_in(client, sessions)

    document = await page(client, f"/console/scores/{scored['nia']}")

    assert "No history yet, so the score is that average." in document.one("data-prior").text
    assert document.one("data-score").text == document.one("data-prior-score").text


async def test_agent_score_unknown_agent_is_not_found(client: Client, sessions: Any) -> None:
    await sign_in(client, sessions)

    response = await client.get("/console/scores/nobody")

    assert response.status_code == 404


async def test_scores_page_needs_a_signed_in_user(client: Client) -> None:
    response = await client.get("/console/scores")

    assert (response.status_code, response.headers["location"]) == (303, "/console/login")
