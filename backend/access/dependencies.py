"""Request dependencies that say who the caller is."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.devices import DEVICE_COOKIE, device_session_for
from backend.access.service import Actor, actor_for_bearer, parse_bearer
from backend.errors import Forbidden, NotAuthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_actor(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Actor:
    """The caller named by the bearer token (an API key or an agent link token), or else by
    a signed-in device's cookie."""
    header = request.headers.get("authorization")
    cookie = request.cookies.get(DEVICE_COOKIE)
    if header is None and cookie:
        return await actor_for_device(request, db_session, cookie)
    token = parse_bearer(header)
    return await actor_for_bearer(db_session, token)


async def provide_device_agent(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> str | None:
    """The agent a signed-in device's cookie speaks for, or None; for pages such as ``/app``."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    device = await device_session_for(db_session, cookie)
    return device.agent_id if device is not None else None


async def actor_for_device(
    request: Request[Any, Any, Any], session: AsyncSession, cookie: str
) -> Actor:
    """A cookie is sent by the browser on its own, so a change must come from our own pages."""
    if request.method not in SAFE_METHODS:
        _check_same_origin(request)
    device = await device_session_for(session, cookie)
    if device is None:
        raise NotAuthenticated(
            "This device is signed out. Ask for a new sign-in link at /app/sign-in."
        )
    return Actor(
        kind="agent", id=device.agent_id, agent_id=device.agent_id, device_session_id=device.id
    )


def _check_same_origin(request: Request[Any, Any, Any]) -> None:
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    own = _origin(request.app.state.settings.base_url)
    if site not in (None, "same-origin", "none") or (origin is not None and origin != own):
        raise Forbidden("A signed-in device's cookie only works from Pursuit's own pages.")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


ACTOR = {"actor": Provide(provide_actor)}
DEVICE_AGENT = {"device_agent": Provide(provide_device_agent)}
