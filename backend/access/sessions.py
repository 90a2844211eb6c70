"""Where console sessions and sign-in counters live: files under ``var/``, or Redis.

Sessions are kept on the server, so signing out ends them everywhere and a restart keeps
them; the browser holds only a random session id.
"""

from __future__ import annotations

from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.stores.file import FileStore
from litestar.stores.redis import RedisStore

from backend.settings import Settings

SESSION_COOKIE = "pursuit_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600
STORE = "sessions"


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
    return ServerSideSessionConfig(
        key=SESSION_COOKIE,
        store=STORE,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https"),
        max_age=SESSION_MAX_AGE_S,
    )
