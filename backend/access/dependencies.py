"""Request dependencies that say who the caller is."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import Actor, actor_for_bearer, parse_bearer


async def provide_actor(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Actor:
    """The caller named by the bearer token: an API key or an agent link token."""
    token = parse_bearer(request.headers.get("authorization"))
    return await actor_for_bearer(db_session, token)


ACTOR = {"actor": Provide(provide_actor)}
