"""Where console sessions and sign-in counters live: files under ``var/``, or Redis.

Sessions are kept on the server, so signing out ends them everywhere and a restart keeps
them; the browser holds only a random session id.
"""

from __future__ import annotations

from typing import Any, ClassVar

from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import (
    ServerSideSessionBackend,
    ServerSideSessionConfig,
)
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore
from litestar.types import Message, ScopeSession

from backend.settings import Settings

SESSION_COOKIE = "pursuit_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600
STORE = "sessions"
ROTATE = "pursuit.rotate_session"  # scope key: this response must carry a new session id


def rotate_session_id(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Give the session a new id when the response is sent (at sign-in), so an id planted
    in the browser beforehand never becomes a signed-in one."""
    connection.scope[ROTATE] = True  # type: ignore[literal-required]


class RotatingSessionBackend(ServerSideSessionBackend):
    """Server-side sessions whose id is replaced, and the old one forgotten, on request."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        fresh = connection.scope.get(ROTATE)
        return fresh if isinstance(fresh, str) else super().get_session_id(connection)

    async def store_in_message(
        self,
        scope_session: ScopeSession,
        message: Message,
        connection: ASGIConnection[Any, Any, Any, Any],
    ) -> None:
        if connection.scope.get(ROTATE) is True:
            old = connection.cookies.get(self.config.key)
            if old and old != "null":
                await self.delete(old, self.config.get_store_from_app(connection.scope["app"]))
            connection.scope[ROTATE] = self.generate_session_id()  # type: ignore[literal-required]
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class: ClassVar[type[ServerSideSessionBackend]] = (  # type: ignore[misc]
        RotatingSessionBackend
    )


def make_store(settings: Settings) -> Store:
    if settings.redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(settings.redis_url)
        return RedisStore(client, namespace="pursuit", handle_client_shutdown=True)
    return FileStore(settings.var_dir / "sessions", create_directories=True)


async def close_store(store: Store) -> None:
    if isinstance(store, RedisStore):
        await store.__aexit__(None, None, None)


def session_config(settings: Settings) -> ServerSideSessionConfig:
    return RotatingSessionConfig(
        key=SESSION_COOKIE,
        store=STORE,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https"),
        max_age=SESSION_MAX_AGE_S,
    )
