"""Answering a repeated ``Idempotency-Key`` with the first answer, for every action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from litestar import Response
from litestar.params import HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import Actor, store_reply, stored_reply
from backend.errors import BadInput

IdempotencyKey = Annotated[str | None, HeaderParameter(name="Idempotency-Key", required=False)]
Action = Callable[[], Awaitable[tuple[int, dict[str, Any]]]]


async def run_once(
    session: AsyncSession, actor: Actor, path: str, key: str | None, action: Action
) -> Response[Any]:
    if key is None:
        status, body = await action()
        return Response(body, status_code=status)
    if len(key) > 200:
        raise BadInput("The Idempotency-Key header must be at most 200 characters.")
    scope = f"{actor.label}:{path}"[:100]
    if (reply := await stored_reply(session, scope, key)) is not None:
        return Response(reply.body, status_code=reply.status_code)
    status, body = await action()
    await store_reply(session, scope, key, status, body)
    return Response(body, status_code=status)
