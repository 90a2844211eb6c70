"""Getting into the console: passwords, mailed links, CSRF, throttling and signing out."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from backend.access.models import SignInLink
from backend.access.service import create_sign_in_link, create_user
from backend.app import create_app
from backend.settings import Settings
from tests.console.html import parse
from tests.console.people import csrf, sign_in_as
from tests.factories import Client
from tests.mail import Inbox


async def _admin(sessions: Any) -> None:
    async with sessions() as session:
        await create_user(session, "boss@example.com", "admin", password="correct horse")


async def _login(client: Client, password: str, email: str = "boss@example.com") -> Any:
    return await client.post(
        "/console/login", data={"email": email, "password": password}, headers=csrf(client)
    )


async def test_password_login_signs_in_and_wrong_password_is_401(
    client: Client, sessions: Any
) -> None:
    await _admin(sessions)
    await client.get("/console/login")

    wrong = await _login(client, "nope")
    right = await _login(client, "correct horse")
    dashboard = await client.get("/console")

    assert wrong.status_code == 401
    assert parse(wrong.text).one("data-message").text == "Unknown email or wrong password."
    assert (right.status_code, right.headers["location"]) == (303, "/console")
    assert dashboard.status_code == 200


async def test_login_is_refused_with_429_after_five_wrong_tries(
    client: Client, sessions: Any
) -> None:
    await _admin(sessions)
    await client.get("/console/login")

    tries = [(await _login(client, f"wrong {n}")).status_code for n in range(5)]
    sixth = await _login(client, "correct horse")
    other_email = await _login(client, "whatever", "other@example.com")

    assert tries == [401, 401, 401, 401, 401]
    assert sixth.status_code == 429
    assert parse(sixth.text).one("data-message").text == (
        "Too many attempts in the last minute. Wait a minute, then try again."
    )
    assert other_email.status_code == 429  # the same address is throttled too


async def test_sign_in_link_page_changes_nothing_and_the_button_signs_in_once(
    client: Client, sessions: Any
) -> None:
    async with sessions() as session:
        user = await create_user(session, "m@example.com", "manager")
        token = await create_sign_in_link(session, user.id)

    shown = await client.get(f"/console/sign-in/{token}")
    shown_again = await client.get(f"/console/sign-in/{token}")
    before = await client.get("/console")
    used = await client.post(f"/console/sign-in/{token}", headers=csrf(client))
    inside = await client.get("/console")
    client.cookies.delete("pursuit_session")
    await client.get("/console/login")
    second = await client.post(f"/console/sign-in/{token}", headers=csrf(client))

    form = parse(shown.text).one("data-form", "sign-in-link")
    assert shown.status_code == shown_again.status_code == 200
    assert form.attrs["method"] == "post"
    assert any(i.attrs.get("name") == "_csrf_token" for i in form.tags("input"))
    assert (before.status_code, before.headers["location"]) == (303, "/console/login")
    assert (used.status_code, used.headers["location"]) == (303, "/console")
    assert inside.status_code == 200
    assert second.status_code == 401
    assert parse(second.text).one("data-message").text == (
        "This sign-in link is unknown, already used or expired."
    )


async def test_expired_sign_in_link_is_refused(client: Client, sessions: Any) -> None:
    async with sessions() as session:
        user = await create_user(session, "m@example.com", "manager")
        token = await create_sign_in_link(session, user.id, ttl=timedelta(seconds=-1))

    page = await client.get(f"/console/sign-in/{token}")

    assert page.status_code == 401
    assert parse(page.text).one("data-message").text == (
        "This sign-in link is unknown, already used or expired."
    )


@pytest.fixture
def mailing_app(settings: Settings, inbox: tuple[Inbox, str]) -> Litestar:
    return create_app(dataclasses.replace(settings, smtp_url=inbox[1]))


async def test_a_requested_sign_in_link_is_mailed_and_works(
    sessions: Any, inbox: tuple[Inbox, str], mailing_app: Litestar
) -> None:
    from tests.console.client import running_client

    async with sessions() as session:
        await create_user(session, "m@example.com", "manager")

    async with running_client(mailing_app) as client:
        await client.get("/console/login")
        unknown = await client.post(
            "/console/login/link", data={"email": "nobody@example.com"}, headers=csrf(client)
        )
        known = await client.post(
            "/console/login/link", data={"email": "M@example.com"}, headers=csrf(client)
        )
        envelope = inbox[0].envelopes[0]
        body = message_from_bytes(envelope.content, policy=default).get_content()
        path = re.search(r"http://testserver\.local(/console/sign-in/\S+)", body)
        assert path is not None
        await client.get(path.group(1))
        signed_in = await client.post(path.group(1), headers=csrf(client))

    notice = parse(known.text).one("data-notice").text
    assert notice == parse(unknown.text).one("data-notice").text
    assert notice.startswith("If that address belongs to a console user")
    assert len(inbox[0].envelopes) == 1
    assert envelope.rcpt_tos == ["m@example.com"]
    assert signed_in.status_code == 303
    async with sessions() as session:
        used = await session.scalars(select(SignInLink).where(SignInLink.used_at.is_not(None)))
        assert len(used.all()) == 1


async def test_console_post_without_csrf_token_is_403_and_the_form_carries_it(
    client: Client, sessions: Any
) -> None:
    await sign_in_as(client, sessions, "admin@example.com", "admin")

    page = await client.get("/console/teams")
    refused = await client.post("/console/teams", data={"name": "North"})
    accepted = await client.post("/console/teams", data={"name": "North"}, headers=csrf(client))

    document = parse(page.text)
    form = next(f for f in document.tags("form") if f.attrs.get("action") == "/console/teams")
    token = next(i for i in form.tags("input") if i.attrs.get("name") == "_csrf_token")
    body = document.tags("body")[0]
    assert token.attrs["value"]
    assert client.cookies["pursuit_csrf"] in body.attrs["hx-headers"]
    assert refused.status_code == 403
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/console/teams")


async def test_a_stale_form_in_a_browser_gets_a_page_that_says_what_to_do(
    client: Client, sessions: Any
) -> None:
    await sign_in_as(client, sessions, "admin@example.com", "admin")
    await client.get("/console/teams")

    refused = await client.post(
        "/console/teams",
        data={"name": "North", "_csrf_token": "stale"},
        headers={"Accept": "text/html", "Referer": "http://testserver.local/console/teams"},
    )

    assert (refused.status_code, refused.headers["content-type"]) == (
        403,
        "text/html; charset=utf-8",
    )
    assert "Nothing was changed. Reload the page you came from and try again." in refused.text
    assert 'href="http://testserver.local/console/teams"' in refused.text


async def test_sign_out_ends_the_session_on_the_server(client: Client, sessions: Any) -> None:
    await sign_in_as(client, sessions, "m@example.com")
    old_cookie = client.cookies["pursuit_session"]

    out = await client.post("/console/logout", headers=csrf(client))
    client.cookies.set("pursuit_session", old_cookie)
    again = await client.get("/console")

    assert (out.status_code, out.headers["location"]) == (303, "/console/login")
    assert (again.status_code, again.headers["location"]) == (303, "/console/login")


async def test_sign_in_gives_a_fresh_session_id_not_a_planted_one(
    client: Client, sessions: Any
) -> None:
    planted = "0123456789abcdef0123456789abcdef"
    client.cookies.set("pursuit_session", planted)

    await sign_in_as(client, sessions, "m@example.com")
    signed_in = {c.value for c in client.cookies.jar if c.name == "pursuit_session"} - {planted}
    client.cookies.clear()
    client.cookies.set("pursuit_session", planted)
    with_planted = await client.get("/console")

    assert len(signed_in) == 1
    assert (with_planted.status_code, with_planted.headers["location"]) == (303, "/console/login")


async def test_sessions_survive_a_restart(settings: Settings, sessions: Any) -> None:
    from tests.console.client import running_client

    async with running_client(create_app(settings)) as client:
        await sign_in_as(client, sessions, "m@example.com")
        cookie = client.cookies["pursuit_session"]

    async with running_client(create_app(settings)) as client:
        client.cookies.set("pursuit_session", cookie)
        dashboard = await client.get("/console")

    assert dashboard.status_code == 200
