"""Text messages: a small sender interface and the generic JSON webhook gateway behind it.

The webhook receives ``POST {"to": "<E.164>", "body": "<text>"}``, with ``Authorization:
Bearer <PURSUIT_SMS_TOKEN>`` when a token is configured, and answers any 2xx once it has
taken the message. Another gateway fits by implementing ``SmsSender``.
"""

from __future__ import annotations

import logging
from typing import Protocol

import httpx

from backend.settings import Settings

logger = logging.getLogger(__name__)

SMS_TIMEOUT_S = 10.0


class SmsFailed(Exception):
    """The gateway did not take the message; ``status_code`` is None when it was not reached."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SmsSender(Protocol):
    async def send(self, to: str, body: str) -> int:
        """Hand one text to the gateway and answer its status code; raise ``SmsFailed``."""
        ...

    async def aclose(self) -> None: ...


class WebhookSms:
    """Posts each text as JSON to one URL, sharing one connection pool."""

    def __init__(self, url: str, token: str | None = None, timeout_s: float = SMS_TIMEOUT_S):
        if not url.startswith(("https://", "http://")):
            raise ValueError("PURSUIT_SMS_URL must be an http:// or https:// URL.")
        self._url = url
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def send(self, to: str, body: str) -> int:
        if self._client is None:
            self._client = httpx.AsyncClient(headers=self._headers, timeout=self._timeout_s)
        try:
            response = await self._client.post(self._url, json={"to": to, "body": body})
        except httpx.HTTPError as exc:
            raise SmsFailed(f"The SMS gateway could not be reached: {type(exc).__name__}.") from exc
        if not response.is_success:
            raise SmsFailed(
                f"The SMS gateway answered {response.status_code}.", response.status_code
            )
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def sms_sender(settings: Settings) -> SmsSender | None:
    """The configured gateway, or None when texts are not set up."""
    if not settings.sms_url:
        return None
    return WebhookSms(settings.sms_url, settings.sms_token)
