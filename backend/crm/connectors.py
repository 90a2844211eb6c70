"""What every CRM connector does, the facts it writes, and how its failures are told apart.

CrmError
├── transient (default)   down, slow, rate-limited: tried again later, honouring retry_after
└── permanent             the CRM refuses the content: parked with its own words
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
from babel import Locale

from backend.identity.service import COUNTRIES

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


# English country names as Babel spells them ("Brazil", "United States"), folded.
COUNTRY_NAMES: dict[str, str] = {
    name.casefold(): code for code, name in Locale("en").territories.items() if code in COUNTRIES
}


def country_of(code: str | None, name: str | None) -> str | None:
    """A CRM record's country as an ISO code: its code field, else its English name read
    as one, else the text as given, for intake to refuse with a sentence."""
    if code and code.strip():
        return code.strip()
    if not name or not name.strip():
        return None
    return COUNTRY_NAMES.get(name.strip().casefold(), name.strip())


class CrmError(Exception):
    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


@dataclass(frozen=True)
class ActivityFact:
    id: str
    kind: str
    outcome: str | None
    note: str | None
    at: datetime


@dataclass(frozen=True)
class LeadFacts:
    """The lead as it stands when it is written: one write carries every pending change."""

    lead_id: str
    status: str
    owner_id: str | None
    owner_email: str | None
    owner_name: str | None
    email: str | None
    first_name: str | None
    last_name: str | None
    company: str | None
    phone: str | None
    decline_reason: str | None
    first_contact_at: datetime | None
    summary: str
    updated_at: datetime
    activities: tuple[ActivityFact, ...] = ()


@dataclass
class Record:
    """Where the lead lives in the CRM and what Pursuit created there so far."""

    object_type: str | None
    record_id: str | None
    written: dict[str, Any] = field(default_factory=dict)
    remark: str | None = None


Remember = Callable[[Record], Awaitable[None]]


@dataclass(frozen=True)
class RemoteState:
    record_id: str
    status: str | None
    outcome: str | None  # won or lost when the CRM says the pursuit ended there


class Connector(Protocol):
    async def check(self) -> str: ...

    async def write(self, facts: LeadFacts, record: Record, remember: Remember) -> Record: ...

    async def fetch(self, object_type: str, record_id: str) -> dict[str, Any]: ...

    async def read_states(self, records: list[Record]) -> list[RemoteState]: ...


class Pacer:
    """Keeps calls to one CRM at least ``interval_s`` apart, under its documented rate."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        if self.interval_s <= 0:
            return
        async with self._lock:
            delay = self._next - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next = time.monotonic() + self.interval_s


def resolve_option(wanted: str, options: list[dict[str, Any]]) -> str | None:
    """The option whose value or label is ``wanted`` (case-insensitive), as its value."""
    for option in options:
        if option.get("value") == wanted:
            return str(option["value"])
    folded = wanted.casefold()
    for option in options:
        if str(option.get("label", "")).casefold() == folded:
            return str(option["value"])
        if str(option.get("value", "")).casefold() == folded:
            return str(option["value"])
    return None


def short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
