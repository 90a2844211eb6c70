"""An SMS gateway on loopback speaking the generic JSON webhook: it keeps what it is posted."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ReceivedText:
    authorization: str | None
    content_type: str | None
    body: dict[str, Any]


@dataclass
class FakeSmsGateway:
    received: list[ReceivedText] = field(default_factory=list)
    status: int = 202
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/messages", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/messages"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        headers = request.headers
        self.received.append(
            ReceivedText(headers.get("Authorization"), headers.get("Content-Type"), body)
        )
        return web.json_response({"queued": True}, status=self.status)
