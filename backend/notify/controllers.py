"""Reaching reps: the Web Push API for their devices, and employees signing in on a device.

Push subscriptions and device sessions are always the caller's own: another agent's id is
answered 404, as if it did not exist. The sign-in pages never say whether an email is on
the roster, and opening a mailed link changes nothing until its button is pressed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.devices import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_MAX_AGE_S,
    SIGN_IN_LINK_TTL,
    DeviceSession,
    list_device_sessions,
    open_rep_link,
    request_sign_in,
    sign_in_link_usable,
    sign_out_device,
    start_device_session,
)
from backend.access.service import Actor
from backend.errors import Forbidden, NotAuthenticated
from backend.notify.messages import sign_in_mail
from backend.notify.models import PushSubscription
from backend.notify.service import (
    Notifier,
    delete_subscription,
    list_subscriptions,
    save_subscription,
    set_subscription_enabled,
)
from backend.settings import Settings

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_UNUSABLE = "This sign-in link is unknown, already used or expired. Ask for a new one."


class SubscriptionKeys(msgspec.Struct):
    p256dh: str
    auth: str


class SubscriptionIn(msgspec.Struct):
    """The browser's ``PushSubscription.toJSON()``; other members are ignored.

    ``old_endpoint`` names the subscription a ``pushsubscriptionchange`` replaces.
    """

    endpoint: str
    keys: SubscriptionKeys
    old_endpoint: str | None = None


class SubscriptionChange(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class SignInForm(msgspec.Struct):
    email: str = ""


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def device_json(subscription: PushSubscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "label": subscription.label,
        "enabled": subscription.enabled,
        "created_at": iso(subscription.created_at),
        "last_success_at": iso(subscription.last_success_at),
        "last_failure_at": iso(subscription.last_failure_at),
    }


def session_json(device: DeviceSession, current_id: str | None) -> dict[str, Any]:
    return {
        "id": device.id,
        "label": device.label,
        "created_at": iso(device.created_at),
        "last_seen_at": iso(device.last_seen_at),
        "current": device.id == current_id,
    }


def own_agent(actor: Actor) -> str:
    """The agent a rep's credential speaks for; nobody else has devices of their own."""
    if actor.kind != "agent" or actor.agent_id is None:
        raise Forbidden("Only a rep, by link token or signed-in device, has devices.")
    return actor.agent_id


class PushController(Controller):
    path = "/api/v1/push"
    dependencies = ACTOR
    tags = ["push"]

    @get("/key", summary="The VAPID application server key, base64url")
    async def public_key(self, request: Request[Any, Any, Any]) -> dict[str, str]:
        notifier: Notifier = request.app.state.notifier
        return {"public_key": notifier.public_key}

    @post("/subscriptions", summary="Register or renew a rep's device for push", status_code=201)
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        data: JSONBody[SubscriptionIn],
    ) -> dict[str, str]:
        agent_id = own_agent(actor)
        settings: Settings = request.app.state.settings
        subscription = await save_subscription(
            db_session,
            agent_id,
            data.endpoint,
            data.keys.p256dh,
            data.keys.auth,
            settings.push_allowed_hosts,
            user_agent=request.headers.get("user-agent"),
            old_endpoint=data.old_endpoint,
        )
        return {"id": subscription.id}

    @get("/subscriptions", summary="The rep's own devices")
    async def devices(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        found = await list_subscriptions(db_session, own_agent(actor))
        return {"items": [device_json(subscription) for subscription in found]}

    @patch("/subscriptions/{subscription_id:str}", summary="Turn a device's pushes on or off")
    async def switch(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        subscription_id: FromPath[str],
        data: JSONBody[SubscriptionChange],
    ) -> dict[str, Any]:
        subscription = await set_subscription_enabled(
            db_session, subscription_id, own_agent(actor), data.enabled
        )
        return device_json(subscription)

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


class SessionsController(Controller):
    path = "/api/v1/me/sessions"
    dependencies = ACTOR
    tags = ["push"]

    @get("/", summary="The devices the rep is signed in on")
    async def sessions(
        self, db_session: NamedDependency[AsyncSession], actor: NamedDependency[Actor]
    ) -> dict[str, Any]:
        found = await list_device_sessions(db_session, own_agent(actor))
        return {"items": [session_json(device, actor.device_session_id) for device in found]}

    @delete("/{session_id:str}", summary="Sign a device out", status_code=204)
    async def sign_out(
        self,
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        session_id: FromPath[str],
    ) -> Response[None]:
        await sign_out_device(db_session, own_agent(actor), session_id)
        response: Response[None] = Response(None, status_code=204)
        if session_id == actor.device_session_id:
            response.delete_cookie(DEVICE_COOKIE, path="/")
        return response


class SignInController(Controller):
    """``/app/sign-in``: an employee asks for a link by email; the link's page signs in."""

    path = "/app/sign-in"
    include_in_schema = False

    @get("/")
    async def form(self) -> Template:
        return render("sign_in.html")

    @post("/", status_code=200)
    async def ask(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[SignInForm],
    ) -> Template:
        email = " ".join(data.email.split())
        if "@" not in email or len(email) > 320:
            message = "Enter your work email address, such as ana@example.com."
            return render("sign_in.html", 422, message=message, email=email[:320])

        found = await request_sign_in(db_session, email)
        if found is not None:
            settings: Settings = request.app.state.settings
            mail = sign_in_mail(
                f"{settings.base_url}/app/sign-in/{found.token}",
                int(SIGN_IN_LINK_TTL.total_seconds() // 60),
            )
            notifier: Notifier = request.app.state.notifier
            notifier.mail_later("sign_in", found.email, mail.subject, mail.text)
        return render("sign_in.html", sent=True, email=email)

    @get("/{token:str}")
    async def link(
        self, db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Template:
        """Only shows the button: mail scanners open links, and must not spend them."""
        if await sign_in_link_usable(db_session, token):
            return render("sign_in_link.html", usable=True, token=token)
        return render("sign_in_link.html", 404, usable=False, message=LINK_UNUSABLE)

    @post("/{token:str}", status_code=303)
    async def sign_in(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Redirect | Template:
        user_agent = request.headers.get("user-agent")
        try:
            device, cookie = await start_device_session(db_session, token, user_agent)
        except NotAuthenticated as exc:
            return render("sign_in_link.html", 401, usable=False, message=exc.message)
        link = await open_rep_link(db_session, device, timedelta(seconds=DEVICE_COOKIE_MAX_AGE_S))

        settings: Settings = request.app.state.settings
        # The queue opens by the device's own link, which the installed app keeps for /app.
        response = Redirect(f"/r/{link}", status_code=303, headers=NO_STORE)
        response.set_cookie(
            DEVICE_COOKIE,
            cookie,
            max_age=DEVICE_COOKIE_MAX_AGE_S,
            path="/",
            httponly=True,
            samesite="lax",
            secure=settings.base_url.startswith("https://"),
        )
        return response


def render(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"notify/{name}",
        context=context,
        status_code=status_code,
        headers=NO_STORE,
    )


ROUTES = [PushController, SessionsController, SignInController]
