"""The SMTP inlet: a mail server a company forwards its leads mailbox to.

Mail for ``<slug>@<any domain>`` goes to the active email inlet of that slug; other
recipients are refused at RCPT. The server runs on the app's own event loop, so mail
is stored with the app's database sessions, and it never sends mail of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.errors import NotFound
from backend.intake.inlets import inlet_by_slug
from backend.intake.mail import receive_mail
from backend.pursuit.service import Announcements, take_announcements

logger = logging.getLogger(__name__)

MAX_MAIL_BYTES = 10 * 1024 * 1024
Announce = Callable[[Announcements], None]


def _slug(address: str) -> str:
    return address.rsplit("@", 1)[0].strip().lower()


class MailHandler:
    """aiosmtpd hooks: check each recipient names an inlet, then store the mail."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], announce: Announce) -> None:
        self.sessions = sessions
        self.announce = announce

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        async with self.sessions() as db:
            try:
                await inlet_by_slug(db, _slug(address), "email")
            except NotFound:
                return f"550 5.1.1 No email inlet is called {_slug(address)!r} here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        return_path = envelope.mail_from
        try:
            for slug in dict.fromkeys(_slug(a) for a in envelope.rcpt_tos):
                await self._store(slug, content, return_path)
        except Exception:
            # Nothing was acknowledged, so the sending server keeps the mail and retries.
            logger.exception("mail not stored; the sender will retry")
            return "451 4.3.0 The mail could not be stored; try again later"
        return "250 Message accepted"

    async def _store(self, slug: str, content: bytes, return_path: str | None) -> None:
        async with self.sessions() as db:
            inlet = await inlet_by_slug(db, slug, "email")
            received = await receive_mail(db, inlet, content, return_path)
            self.announce(take_announcements(db))
        status = received.inquiry.status if received.inquiry else "failed"
        inquiry_id = received.inquiry.id if received.inquiry else None
        logger.info("mail received inlet=%s inquiry_id=%s status=%s", slug, inquiry_id, status)


class MailInlet:
    """Start and stop the SMTP inlet on the running event loop."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        host: str,
        port: int,
        announce: Announce | None = None,
    ) -> None:
        self.handler = MailHandler(sessions, announce or (lambda said: None))
        self.host, self.port = host, port
        self.server: asyncio.Server | None = None

    def _protocol(self) -> SMTP:
        return SMTP(
            self.handler,
            data_size_limit=MAX_MAIL_BYTES,
            enable_SMTPUTF8=True,
            hostname="pursuit",
            ident="Pursuit lead inlet",
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._protocol, self.host, self.port)
        logger.info("smtp inlet listening host=%s port=%s", self.host, self.port)

    async def stop(self) -> None:
        if self.server is None:
            return
        self.server.close()
        await self.server.wait_closed()
        self.server = None


def mail_inlet(
    settings: Any, sessions: async_sessionmaker[AsyncSession], announce: Announce
) -> MailInlet | None:
    """The app's SMTP inlet when ``PURSUIT_SMTP_INLET_PORT`` is set."""
    if not settings.smtp_inlet_port:
        return None
    return MailInlet(sessions, settings.smtp_inlet_host, settings.smtp_inlet_port, announce)
