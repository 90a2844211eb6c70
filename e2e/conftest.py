"""The e2e harness: the real server in a subprocess, seeded through its CLI and API, and Chromium.

Everything here is synchronous: sync Playwright runs its own event loop in the main thread,
so the browser is started and stopped within each test and no asyncio fixture is involved.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
import httpx
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
STARTUP_TIMEOUT_S = 120  # a busy shared machine can take a minute to start a server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        """End the server process; a test may do it early to see the app offline."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def cli(self, *args: str) -> str:
        """Run ``pursuit`` against this server's database; answer its last line of output.

        The command runs in this process, in a thread of its own (sync Playwright keeps an
        event loop in the main thread): a fresh interpreter per call costs seconds of imports.
        """
        outcome: list[Result] = []
        worker = threading.Thread(target=lambda: outcome.append(self._invoke(args)))
        worker.start()
        worker.join(timeout=60)
        assert outcome, f"pursuit {' '.join(args)} did not finish within 60 s"
        [done] = outcome
        assert done.exit_code == 0, f"{done.output}{done.exception!r}"
        return done.stdout.strip().splitlines()[-1]

    def _invoke(self, args: tuple[str, ...]) -> Result:
        from backend.cli import main

        variables = {k: v for k, v in self.env.items() if k.startswith("PURSUIT_")}
        return CliRunner(env=variables).invoke(main, list(args), catch_exceptions=True)


def pursuit_executable() -> str:
    return str(Path(sys.executable).parent / "pursuit")


def _wait_until_healthy(server: Server, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited early:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    log = server.log.read_text()
    pytest.fail(f"the server was not healthy within {STARTUP_TIMEOUT_S} s:\n{log}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PURSUIT_VAR_DIR": str(tmp_path / "var"),
        "PURSUIT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/e2e.db",
        "PURSUIT_BASE_URL": url,
        "PURSUIT_SWEEP_INTERVAL_S": "1",
        "PURSUIT_PUSH_ALLOWED_HOSTS": "127.0.0.1",
    }
    log = tmp_path / "server.log"
    running = Server(url, env, log)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [pursuit_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        running.process = process
        try:
            _wait_until_healthy(running, process)
            yield running
        finally:
            running.stop()


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    key = server.cli("api-key", "create", "e2e")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=10) as client:
        yield client


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def lead_body(external_id: str, company: str, **fields: Any) -> dict[str, Any]:
    """A prospect of its own for each external id: its own email, no phone unless given."""
    return {
        "source": "web",
        "external_id": external_id,
        "first_name": "Rita",
        "last_name": "Lima",
        "email": f"{external_id}@example.org",
        "company": company,
        "country": "BR",
        "region": "SP",
        "product": "solar",
        "language": "pt",
        "message": "Need a quote for 40 panels",
        "value": 12000,
        "currency": "BRL",
        **fields,
    }


@dataclass
class Seed:
    agent_id: str
    rep_link: str
    lead_id: str
    offer_id: str
    company: str


@pytest.fixture
def seeded(api: httpx.Client) -> Seed:
    """One rep (Ana) with a link, one rule sending everything to her, and one lead offered."""
    agent = created(
        api.post(
            "/api/v1/agents",
            json={
                "name": "Ana Souza",
                "email": "ana@example.com",
                "phone": "+5511990000001",
                "timezone": "UTC",
            },
        )
    )
    created(
        api.post(
            "/api/v1/rules",
            json={
                "name": "Everything to Ana",
                "pool": {"agent_ids": [agent["id"]]},
                "strategy": "round_robin",
                "accept_timeout_s": 900,
                "contact_timeout_s": 86400,
            },
        )
    )
    link = created(api.post(f"/api/v1/agents/{agent['id']}/links"))
    body = lead_body("e2e-1", "Lima Energia", phone="+55 11 99123-4567")
    lead = created(api.post("/api/v1/leads", json=body))
    return Seed(agent["id"], link["url"], lead["lead_id"], lead["offer"]["id"], "Lima Energia")


@pytest.fixture
def manager_link(server: Server) -> str:
    return server.cli("user", "create", "--email", "m@example.com", "--role", "manager")


def chromium_path() -> str:
    found = (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail("Chromium is missing: run `apt-get install -y chromium` or set CHROMIUM_PATH.")
    return found


@pytest.fixture
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    yield context
    context.close()


@pytest.fixture
def installed_profile(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    """A persistent profile: installability checks report ``in-incognito`` in any other."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"),
        executable_path=chromium_path(),
        args=CHROMIUM_ARGS,
        viewport=PHONE,
    )
    yield context
    context.close()


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_default_timeout(10_000)
    return page


# A push service on loopback, standing in for the browser vendor's: it keeps what the server
# sends and opens it with the device's private key, as the browser would.


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class PushService:
    url: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))
    bodies: list[bytes] = field(default_factory=list)

    @property
    def subscription(self) -> dict[str, Any]:
        """What ``PushSubscription.toJSON()`` answers for this device."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/device-1",
            "expirationTime": None,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth_secret)},
        }

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(self.decrypt(body)) for body in list(self.bodies)]

    def decrypt(self, body: bytes) -> bytes:
        return bytes(
            http_ece.decrypt(
                body,
                private_key=self.private_key,
                auth_secret=self.auth_secret,
                version="aes128gcm",
            )
        )

    def wait_for_messages(self, count: int, timeout_s: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    received: list[bytes] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(201)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep pytest's output for the tests

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield PushService(f"http://127.0.0.1:{httpd.server_address[1]}", bodies=received)
    httpd.shutdown()
    httpd.server_close()
