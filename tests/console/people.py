"""Console users for tests: signed in through the mailed-link page, as a person would."""

from __future__ import annotations

from typing import Any

from backend.access.service import create_sign_in_link, create_user
from tests.factories import Client


def csrf(client: Client) -> dict[str, str]:
    return {"x-csrftoken": client.cookies["pursuit_csrf"]}


async def sign_in_as(
    client: Client,
    sessions: Any,
    email: str,
    role: str = "manager",
    team_ids: list[str] | None = None,
    partner_ids: list[str] | None = None,
) -> None:
    async with sessions() as session:
        user = await create_user(session, email, role, team_ids=team_ids, partner_ids=partner_ids)
        token = await create_sign_in_link(session, user.id)
    page = await client.get(f"/console/sign-in/{token}")
    assert page.status_code == 200, page.text
    response = await client.post(f"/console/sign-in/{token}", headers=csrf(client))
    assert response.status_code == 303, response.text
