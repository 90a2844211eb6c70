"""Counting failed sign-in attempts per address and per email, in the app's store.

Five failures within a minute close that door for the rest of the minute; the store is
the sessions' one, so several app processes behind Redis share the count.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from litestar.stores.base import Store

from backend.errors import PursuitError

logger = logging.getLogger(__name__)

LIMIT = 5
WINDOW = timedelta(minutes=1)


class TooManyAttempts(PursuitError):
    status_code = 429
    code = "too_many_requests"


def _keys(kind: str, client_ip: str, email: str) -> list[str]:
    # Emails are hashed: the store must not hold personal data in its keys.
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    return [f"throttle:{kind}:ip:{client_ip}", f"throttle:{kind}:email:{digest}"]


async def check(store: Store, kind: str, client_ip: str, email: str) -> None:
    """Refuse when this address or this email has failed too often lately."""
    for key in _keys(kind, client_ip, email):
        count = await store.get(key)
        if count is not None and int(count) >= LIMIT:
            logger.warning("sign-in throttled kind=%s by=%s", kind, key.split(":")[2])
            raise TooManyAttempts(
                "Too many attempts in the last minute. Wait a minute, then try again."
            )


async def count_failure(store: Store, kind: str, client_ip: str, email: str) -> None:
    for key in _keys(kind, client_ip, email):
        count = await store.get(key)
        # The window starts at the first failure; later failures keep its end.
        expires = await store.expires_in(key) if count is not None else None
        seconds = expires if expires and expires > 0 else int(WINDOW.total_seconds())
        await store.set(key, str(int(count or 0) + 1), expires_in=seconds)
