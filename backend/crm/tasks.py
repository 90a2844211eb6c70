"""The CRM worker: delivers the outbox, takes in CRM records, reads back CRM outcomes.

It runs in the server process beside the sweeper. The clock, the random source of the
jitter and the HTTP transport are injectable, so tests step through retries at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from backend.crm import service
from backend.crm.connectors import DEFAULT_TIMEOUT, Connector, CrmError, Record
from backend.crm.models import CrmConnection
from backend.db import utcnow
from backend.errors import PursuitError
from backend.settings import Settings

logger = logging.getLogger(__name__)

BASE_DELAY_S = 5.0
MAX_DELAY_S = 3600.0
LEASE_S = 120.0
RECONCILE_EVERY_S = 300.0


class CrmWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        pace: bool = True,
        lease_s: float = LEASE_S,
        reconcile_every_s: float = RECONCILE_EVERY_S,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.rng = rng or random.Random()
        self.pace = pace
        self.lease_s = lease_s
        self.reconcile_every_s = reconcile_every_s
        self.max_attempts = settings.crm_max_attempts
        self.name = uuid.uuid4().hex
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._connectors: dict[str, tuple[tuple[Any, ...], Connector]] = {}
        self._task: asyncio.Task[Any] | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=self._transport)
        return self._http

    def delay_for(self, attempts: int) -> float:
        """Exponential backoff with full jitter in its upper half."""
        ceiling: float = min(MAX_DELAY_S, BASE_DELAY_S * 2.0 ** (attempts - 1))
        return ceiling * (0.5 + self.rng.random() / 2)

    def connector(self, connection: CrmConnection) -> Connector:
        """One connector per connection, kept while its settings stay the same (it caches
        the CRM's status options and its access token)."""
        key = (connection.base_url, connection.credentials, repr(connection.mapping))
        kept = self._connectors.get(connection.id)
        if kept is None or kept[0] != key:
            made = service.connector_for(
                connection, self.settings.secret_key, self.http, pace=self.pace
            )
            kept = (key, made)
            self._connectors[connection.id] = kept
        return kept[1]

    async def run_once(self) -> int:
        """One pass: inbound records, due write-backs, reconciliation when due."""
        done = await self.take_inbound()
        done += await self.deliver_due()
        await self.reconcile_due()
        return done

    # Write-back

    async def deliver_due(self) -> int:
        async with self.sessions() as session:
            claimed = await service.claim_leads(session, self.name, self.clock(), self.lease_s)
        delivered = 0
        for connection_id, lead_id in claimed:
            delivered += await self.deliver(connection_id, lead_id)
        return delivered

    async def deliver(self, connection_id: str, lead_id: str) -> int:
        """Write one lead's current state; no transaction is open while the CRM is called."""
        async with self.sessions() as session:
            connection = await service.get_connection(session, connection_id)
            facts = await service.lead_facts(session, lead_id, self.settings.base_url)
            link = await service.get_link(session, connection_id, lead_id)
            record = Record(
                link.object_type if link else None,
                link.record_id if link else None,
                dict(link.written or {}) if link else {},
            )
            await session.commit()

        async def remember(progress: Record) -> None:
            async with self.sessions() as inner:
                await service.save_record(inner, connection_id, lead_id, progress)

        try:
            written = await self.connector(connection).write(facts, record, remember)
        except (CrmError, PursuitError) as exc:
            return await self._failed(connection_id, lead_id, exc)
        async with self.sessions() as session:
            count = await service.finish_delivery(
                session, self.name, connection_id, lead_id, written, self.clock()
            )
        logger.info(
            "crm write-back delivered connection_id=%s lead_id=%s items=%d",
            connection_id,
            lead_id,
            count,
        )
        return count

    async def _failed(self, connection_id: str, lead_id: str, exc: Exception) -> int:
        failure = _failure(exc)
        async with self.sessions() as session:
            outcome = await service.fail_delivery(
                session,
                self.name,
                connection_id,
                lead_id,
                failure,
                self.clock(),
                self.delay_for,
                self.max_attempts,
            )
        log = logger.error if outcome == "parked" else logger.warning
        log(
            "crm write-back failed connection_id=%s lead_id=%s outcome=%s",
            connection_id,
            lead_id,
            outcome,
        )
        return 0

    # Inbound

    async def take_inbound(self) -> int:
        async with self.sessions() as session:
            claimed = await service.claim_inbound(session, self.clock(), self.lease_s)
            events = [
                (e.id, e.connection_id, e.object_type, e.record_id, e.fields) for e in claimed
            ]
        opened = 0
        for event_id, connection_id, object_type, record_id, fields in events:
            opened += await self._take(event_id, connection_id, object_type, record_id, fields)
        return opened

    async def _take(
        self,
        event_id: str,
        connection_id: str,
        object_type: str,
        record_id: str,
        fields: dict[str, Any],
    ) -> int:
        async with self.sessions() as session:
            connection = await service.get_connection(session, connection_id)
            await session.commit()
        try:
            if not fields:
                fields = await self.connector(connection).fetch(object_type, record_id)
            async with self.sessions() as session:
                await service.open_inquiry(session, connection, event_id, fields)
        except (CrmError, PursuitError) as exc:
            failure = _failure(exc)
            delay = failure.retry_after or self.delay_for(1)
            async with self.sessions() as session:
                await service.inbound_failed(
                    session, event_id, failure, self.clock(), delay, self.max_attempts
                )
            logger.warning("crm record not taken in connection_id=%s", connection_id)
            return 0
        return 1

    # Reconciliation

    async def reconcile_due(self) -> int:
        now = self.clock()
        async with self.sessions() as session:
            connections = [
                c
                for c in await service.list_connections(session)
                if c.active
                and (
                    c.reconciled_at is None
                    or c.reconciled_at + timedelta(seconds=self.reconcile_every_s) <= now
                )
            ]
            await session.commit()
        closed = 0
        for connection in connections:
            closed += await self.reconcile(connection.id)
        return closed

    async def reconcile(self, connection_id: str) -> int:
        """Read back linked records; outcomes decided in the CRM become outcomes here."""
        async with self.sessions() as session:
            connection = await service.get_connection(session, connection_id)
            links = await service.open_links(session, connection_id)
            records = {
                link.id: Record(link.object_type, link.record_id, dict(link.written))
                for link in links
            }
            await session.commit()

        closed = 0
        if records:
            try:
                states = await self.connector(connection).read_states(list(records.values()))
            except CrmError as exc:
                logger.warning(
                    "crm reconciliation failed connection_id=%s error=%s",
                    connection_id,
                    type(exc).__name__,
                )
                # Tried again at the next reconciliation time, not at every pass of the worker.
                await self._stamp_reconciled(connection_id)
                return 0
            by_record = {s.record_id: s for s in states}
            for link_id, record in records.items():
                key = record.written.get("converted_lead_id") or record.record_id
                state = by_record.get(str(key))
                if state is None:
                    continue
                async with self.sessions() as session:
                    closed += await service.record_remote_outcome(
                        session, connection, link_id, state.status, state.outcome, self.clock()
                    )
        await self._stamp_reconciled(connection_id)
        return closed

    async def _stamp_reconciled(self, connection_id: str) -> None:
        async with self.sessions() as session:
            found = await service.get_connection(session, connection_id)
            found.reconciled_at = self.clock()
            await session.commit()

    # Life cycle

    async def _loop(self, interval_s: float) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                logger.exception("crm pass failed")
            await asyncio.sleep(interval_s)

    def start(self, interval_s: float) -> None:
        self._task = asyncio.create_task(self._loop(interval_s), name="crm-worker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _failure(exc: Exception) -> service.Failure:
    if isinstance(exc, CrmError):
        return service.Failure(exc.message, exc.permanent, exc.retry_after)
    assert isinstance(exc, PursuitError)
    return service.Failure(exc.message, True, None)
