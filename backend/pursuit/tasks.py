"""The deadline sweeper: expires unanswered offers, chases overdue contacts, moves leads on.

Deadlines are rows, so a restart loses none; the sweeper only has to look again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.db import utcnow
from backend.pursuit.service import (
    Announcements,
    chase_overdue_contacts,
    expire_due_offers,
    note_missing_outcomes,
    take_announcements,
)
from backend.scoring.service import keep_daily_snapshots

logger = logging.getLogger(__name__)


class Announcer(Protocol):
    def announce(self, said: Announcements) -> None: ...


class Sweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        announcer: Announcer,
        interval_s: float,
    ) -> None:
        self.sessions = sessions
        self.announcer = announcer
        self.interval_s = interval_s
        self._task: asyncio.Task[Any] | None = None
        self._snapshot_day: date | None = None

    async def sweep_once(self) -> int:
        """One pass over every due deadline; answers how many new offers it made."""
        async with self.sessions() as session:
            offers = await expire_due_offers(session)
            offers += await chase_overdue_contacts(session)
            self.announcer.announce(take_announcements(session))
            await note_missing_outcomes(session)
        await self._snapshot_scores()
        return len(offers)

    async def _snapshot_scores(self) -> None:
        """Once a UTC day (and once after a start), today's scores for the trends."""
        now = utcnow()
        if self._snapshot_day == now.date():
            return
        async with self.sessions() as session:
            kept = await keep_daily_snapshots(session, now)
        self._snapshot_day = now.date()
        logger.info("scores kept agents=%d day=%s", kept, now.date().isoformat())

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep_once()
            except Exception:
                logger.exception("sweep failed")
            await asyncio.sleep(self.interval_s)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="deadline-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
