"""The Web Push API: the server's public key, and reps adding or removing a device."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.service import Actor
from backend.errors import Forbidden
from backend.notify.service import Notifier, delete_subscription, save_subscription
from backend.settings import Settings


class SubscriptionKeys(msgspec.Struct):
    p256dh: str
    auth: str


class SubscriptionIn(msgspec.Struct):
    """The browser's ``PushSubscription.toJSON()``; other members are ignored."""

    endpoint: str
    keys: SubscriptionKeys


class PushController(Controller):
    path = "/api/v1/push"
    dependencies = ACTOR
    tags = ["push"]

    @get("/key", summary="The VAPID application server key, base64url")
    async def public_key(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        notifier: Notifier = request.app.state.notifier
        return {"public_key": notifier.public_key}

    @post("/subscriptions", summary="Register a rep's device for push", status_code=201)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[SubscriptionIn],
    ) -> dict[str, str]:
        if actor.kind != "agent" or actor.agent_id is None:
            raise Forbidden("Only a rep's link token can register a device.")
        settings: Settings = request.app.state.settings
        subscription = await save_subscription(
            db_session,
            actor.agent_id,
            data.endpoint,
            data.keys.p256dh,
            data.keys.auth,
            settings.push_allowed_hosts,
        )
        return {"id": subscription.id}

    @delete("/subscriptions/{subscription_id:str}", summary="Remove a device", status_code=204)
    async def unsubscribe(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        subscription_id: FromPath[str],
    ) -> None:
        """A rep removes one of their own devices; an API key may remove any."""
        if actor.kind not in ("agent", "api_key"):
            raise Forbidden("Only a rep's link token or an API key can remove a device.")
        await delete_subscription(db_session, subscription_id, actor.agent_id)


ROUTES = [PushController]
