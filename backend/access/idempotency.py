"""Answering a repeated ``Idempotency-Key`` with the first answer, for every action."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from litestar import Response
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import Actor, store_reply, stored_reply
from backend.errors import BadInput, Conflict

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
Action = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


def fingerprint(data: object) -> str:
    """A digest of a request body, to tell a true repeat from a reused key."""
    return hashlib.sha256(msgspec.json.encode(data, order="sorted")).hexdigest()


async def run_once(
    session: AsyncSession,
    actor: Actor,
    path: str,
    key: str | None,
    action: Action,
    data: object = None,
) -> Response[Any]:
    """Run ``action`` once per key; a repeat with the same body gets the first answer."""
    if key is None:
        status, body = await action()
        return Response(body, status_code=status)
    if len(key) > 200:
        raise BadInput("The Idempotency-Key header must be at most 200 characters.")
    scope = f"{actor.label}:{path}"[:100]
    digest = fingerprint(data)
    if (reply := await stored_reply(session, scope, key)) is not None:
        if reply.request_digest not in (None, digest):
            raise Conflict(
                "This Idempotency-Key was already used for a different request; "
                "use a new key for new content."
            )
        return Response(reply.body, status_code=reply.status_code)
    status, body = await action()
    await store_reply(session, scope, key, status, body, digest)
    return Response(body, status_code=status)
