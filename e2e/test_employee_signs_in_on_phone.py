"""An employee asks for a sign-in link on a narrow phone, opens the mail, and signs the phone in."""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, expect

from e2e.conftest import Server, _wait_until_healthy, free_port, new_page, pursuit_executable

PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
)
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/app/sign-in/[\w-]{43})")


class Mailbox:
    def __init__(self) -> None:
        self.texts: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.texts.append(message.get_body().get_content())  # type: ignore[union-attr]
        return "250 Message accepted for delivery"

    def wait_for_link(self, timeout_s: float = 15) -> str:
        deadline = time.monotonic() + timeout_s
        while not self.texts and time.monotonic() < deadline:
            time.sleep(0.1)
        found = LINK.search(self.texts[-1]) if self.texts else None
        assert found is not None, self.texts
        return found.group(1)


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    handler, port = Mailbox(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def mailing_server(tmp_path: Path, mailbox: tuple[Mailbox, int]) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PURSUIT_VAR_DIR": str(tmp_path / "var"),
        "PURSUIT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
        "PURSUIT_BASE_URL": url,
        "PURSUIT_SMTP_URL": f"smtp://127.0.0.1:{mailbox[1]}",
    }
    log = tmp_path / "server.log"
    running = Server(url, env, log)
    with log.open("wb") as output:
        running.process = subprocess.Popen(
            [pursuit_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_healthy(running, running.process)
            yield running
        finally:
            running.stop()


def test_employee_signs_in_on_phone_by_mailed_link(
    browser: Browser, mailing_server: Server, mailbox: tuple[Mailbox, int]
) -> None:
    key = mailing_server.cli("api-key", "create", "e2e")
    agent = httpx.post(
        f"{mailing_server.url}/api/v1/agents",
        json={"name": "Ana Souza", "email": "ana@example.com", "timezone": "UTC"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert agent.status_code == 201, agent.text
    context = browser.new_context(viewport={"width": 360, "height": 740}, user_agent=PIXEL)
    page = new_page(context)

    page.goto(f"{mailing_server.url}/app/sign-in")
    page.get_by_label("Work email").fill("ana@example.com")
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("[data-message]")).to_contain_text(
        "If you are on the roster, a sign-in link is on its way to ana@example.com."
    )
    asked_width = page.evaluate("document.documentElement.scrollWidth")
    link = mailbox[0].wait_for_link()
    page.goto(link)
    button = page.get_by_role("button", name="Sign in on this device")
    expect(button).to_be_visible()
    button.click()
    page.wait_for_url(f"{mailing_server.url}/r/pl_*")
    sessions = page.evaluate("fetch('/api/v1/me/sessions').then((r) => r.json())")
    page.goto(link)
    used = page.locator("[data-message]").inner_text()
    context.close()

    assert asked_width <= 360
    [session] = sessions["items"]
    assert (session["label"], session["current"]) == ("Chrome on Android", True)
    assert used == "This sign-in link is unknown, already used or expired. Ask for a new one."
