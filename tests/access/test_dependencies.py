"""Who the caller is: a caller refused after the lookup leaves no connection checked out."""

from __future__ import annotations

import pytest
from litestar import Litestar

from backend.access.devices import DEVICE_COOKIE, SESSION_PREFIX
from tests.factories import Client


def checked_out(app: Litestar) -> int:
    return int(app.state.sessions.kw["bind"].pool.checkedout())


@pytest.mark.parametrize(
    ("headers", "cookies"),
    [
        ({"Authorization": "Bearer pk_nope"}, {}),
        ({}, {DEVICE_COOKIE: f"{SESSION_PREFIX}never-signed-in"}),
    ],
    ids=["unknown-bearer-token", "unknown-device-cookie"],
)
async def test_refused_caller_gives_the_connection_back_before_the_answer(
    client: Client, app: Litestar, headers: dict[str, str], cookies: dict[str, str]
) -> None:
    client.cookies.update(cookies)

    refused = await client.get("/api/v1/me/queue", headers=headers)

    assert refused.status_code == 401
    assert checked_out(app) == 0
