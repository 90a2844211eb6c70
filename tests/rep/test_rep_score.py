"""The rep's own pursuit score on their screen, and what would raise it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from backend.roster.service import create_team
from backend.scoring import service as scoring
from tests.console.html import parse
from tests.factories import Client, add_agent, make_agent
from tests.rep.test_rep_app import HTMX, token_for


async def _team(sessions: Any) -> dict[str, str]:
    async with sessions() as session:
        team = await create_team(session, "Inside sales")
        return {
            "ana": await add_agent(session, "Ana", team_id=team.id),
            "bruno": await add_agent(session, "Bruno", team_id=team.id),
        }


async def _late_contacts(sessions: Any, agent_id: str, missed: int, kept: int) -> None:
    """Accepted leads, the first ``missed`` of them with no contact by the deadline."""
    now = datetime.now(UTC)
    async with sessions() as session:
        for n in range(missed + kept):
            offered = now - timedelta(hours=20 - n)
            accepted = offered + timedelta(minutes=3)
            await scoring.record_offer_outcome(session, agent_id, "accepted", offered, accepted)
            if n < missed:
                await scoring.record_missed_contact(session, agent_id, accepted)
            else:
                due = accepted + timedelta(days=1)
                contact = accepted + timedelta(minutes=30)
                await scoring.record_contact(session, agent_id, accepted, contact, due)
        await session.commit()


async def test_rep_sees_their_score_and_what_would_raise_it(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await _team(sessions)
    await _late_contacts(sessions, ids["ana"], missed=3, kept=5)
    token = await token_for(client, auth, ids["ana"])

    response = await client.get(f"/r/{token}")

    assert response.status_code == 200
    score = parse(response.text).one("data-section", "score")
    assert 0 < int(score.one("data-score").text.split()[0]) < 100
    assert score.one("data-prior").text.startswith("Your team's average: ")
    assert score.one("data-tips").tags("li")[0].text == (
        "Log a first contact before the deadline: about 3 of your 8 accepted leads "
        "had none in time."
    )


async def test_rep_without_history_sees_the_team_average(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await _team(sessions)
    await _late_contacts(sessions, ids["ana"], missed=0, kept=4)
    token = await token_for(client, auth, ids["bruno"])
    async with sessions() as session:
        prior = (await scoring.scores_for(session, [ids["bruno"]], datetime.now(UTC)))[ids["bruno"]]

    response = await client.get(f"/r/{token}")

    score = parse(response.text).one("data-section", "score")
    assert score.one("data-score").text.split()[0] == str(round(prior.prior_score))
    assert score.one("data-no-history").text.startswith(
        "You have no history yet, so your score is your team's average."
    )
    assert score.all("data-tips") == []


async def test_rep_queue_swap_leaves_the_score_out(
    client: Client, auth: dict[str, str], sessions: Any
) -> None:
    ids = await _team(sessions)
    token = await token_for(client, auth, ids["ana"])

    response = await client.get(f"/r/{token}/queue", headers=HTMX)

    assert response.status_code == 200
    assert parse(response.text).all("data-section", "score") == []
    assert parse(response.text).all("data-section", "pending")


async def test_rep_page_opens_for_a_rep_in_no_team(client: Client, auth: dict[str, str]) -> None:
    token = await token_for(client, auth, await make_agent(client, auth, "Solo"))

    response = await client.get(f"/r/{token}")

    said = parse(response.text).one("data-section", "score").one("data-no-history").text
    assert said.startswith("You have no history yet, so your score is all reps' average.")
