"""The rep app: one agent's queue opened by a link token, its one-tap actions, and the PWA files.

Everything under ``/r/<token>`` is scoped by the token: it only ever reaches that agent's
offers and leads. Opening the page changes nothing; each action answers the re-rendered
queue, with the outcome or the refusal in a sentence, so htmx can swap it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Template
from litestar.static_files import create_static_files_router
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import agent_for_link
from backend.errors import BadInput, NotFound, PursuitError
from backend.pursuit.service import (
    ACTIVITY_KINDS,
    DECLINE_REASONS,
    OUTCOMES,
    accept_offer,
    agent_queue,
    decline_offer,
    log_activity,
)
from backend.roster.service import get_agent
from backend.scoring.service import own_score

logger = logging.getLogger(__name__)

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_GONE = (
    "This link does not open any leads: it is unknown, revoked or expired. "
    "Ask your manager for a new one."
)


class DeclineForm(msgspec.Struct):
    reason: str = ""
    note: str = ""


class ActivityForm(msgspec.Struct):
    kind: str = "call"
    outcome: str = ""
    note: str = ""


@dataclass(frozen=True)
class Rep:
    """The agent a link token opens, as plain values that outlive a rolled-back session."""

    id: str
    name: str
    timezone: str
    token: str


def label(code: str) -> str:
    """A stored code as words: ``no_answer`` becomes ``No answer``."""
    return code.replace("_", " ").capitalize()


def local_time(value: datetime, timezone: str) -> str:
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local, today = value.astimezone(zone), datetime.now(zone).date()
    shown = f"{local:%H:%M}" if local.date() == today else f"{local:%a %d %b, %H:%M}"
    return f"{shown} ({zone.key})"


def lead_name(lead: Any) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return str(lead.company or person or "Unnamed inquiry")


HELPERS = {"label": label, "local_time": local_time, "lead_name": lead_name}
CHOICES = {"decline_reasons": DECLINE_REASONS, "kinds": ACTIVITY_KINDS, "outcomes": OUTCOMES}


def render(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"rep/{name}",
        context={**HELPERS, **CHOICES, **context},
        status_code=status_code,
        headers=NO_STORE,
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def rep_for(session: AsyncSession, token: str) -> Rep:
    agent_id = await agent_for_link(session, token)
    if agent_id is None:
        raise NotFound(LINK_GONE)
    agent = await get_agent(session, agent_id)
    return Rep(agent.id, agent.name, agent.timezone, token)


async def queue_view(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    rep: Rep,
    *,
    message: str | None = None,
    failed: bool = False,
    status_code: int = 200,
    highlight: str | None = None,
) -> Template:
    """The rep's queue: the fragment for htmx, the whole page (with their score) otherwise."""
    queue = await agent_queue(session, rep.id)
    htmx = is_htmx(request)
    own = None if htmx else await own_score(session, rep.id, datetime.now(UTC))
    return render(
        "_queue.html" if htmx else "app.html",
        status_code,
        rep=rep,
        queue=queue,
        own=own,
        message=message,
        failed=failed,
        highlight=highlight,
    )


Action = Callable[[Rep], Awaitable[str]]


async def act(
    request: Request[Any, Any, Any], session: AsyncSession, token: str, action: Action
) -> Template:
    """Run one rep action and answer the queue, with a refusal shown as a sentence."""
    try:
        rep = await rep_for(session, token)
    except NotFound as exc:
        name = "_gone.html" if is_htmx(request) else "not_found.html"
        return render(name, 404, message=exc.message)

    try:
        message = await action(rep)
    except PursuitError as exc:
        await session.rollback()
        logger.info("rep action refused agent_id=%s code=%s", rep.id, exc.code)
        return await queue_view(
            request, session, rep, message=exc.message, failed=True, status_code=exc.status_code
        )
    return await queue_view(request, session, rep, message=message)


class RepController(Controller):
    path = "/r"
    include_in_schema = False

    @get("/{token:str}")
    async def page(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        offer: FromQuery[str | None] = None,
    ) -> Template:
        try:
            rep = await rep_for(db_session, token)
        except NotFound as exc:
            return render("not_found.html", 404, message=exc.message)
        return await queue_view(request, db_session, rep, highlight=offer)

    @get("/{token:str}/queue")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Template:
        async def just_show(rep: Rep) -> str:
            return ""

        return await act(request, db_session, token, just_show)

    @post("/{token:str}/offers/{offer_id:str}/accept", status_code=200)
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        offer_id: FromPath[str],
    ) -> Template:
        async def accept_it(rep: Rep) -> str:
            lead = await accept_offer(db_session, offer_id, agent_id=rep.id)
            return f"Accepted: {lead_name(lead)} is yours. Get in touch now."

        return await act(request, db_session, token, accept_it)

    @post("/{token:str}/offers/{offer_id:str}/decline", status_code=200)
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        offer_id: FromPath[str],
        data: URLEncodedBody[DeclineForm],
    ) -> Template:
        async def decline_it(rep: Rep) -> str:
            if not data.reason:
                raise BadInput(
                    "Pick a reason for declining, then tap Decline again.", field="reason"
                )
            lead, next_offer = await decline_offer(
                db_session, offer_id, agent_id=rep.id, reason=data.reason, note=data.note
            )
            if next_offer is None:
                return f"Declined: {lead_name(lead)} goes back to your manager."
            return f"Declined: {lead_name(lead)} goes to the next rep."

        return await act(request, db_session, token, decline_it)

    @post("/{token:str}/leads/{lead_id:str}/activities", status_code=200)
    async def log(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lead_id: FromPath[str],
        data: URLEncodedBody[ActivityForm],
    ) -> Template:
        async def log_it(rep: Rep) -> str:
            outcome = data.outcome or None
            await log_activity(
                db_session,
                lead_id,
                agent_id=rep.id,
                kind=data.kind,
                outcome=outcome,
                note=data.note,
            )
            return f"Logged: {label(data.kind)}" + (
                f", {label(outcome).lower()}." if outcome else "."
            )

        return await act(request, db_session, token, log_it)


@get("/app", include_in_schema=False)
async def launch() -> Template:
    """The installed app's start page: its script reopens the rep's stored link."""
    return render("launch.html")


@get("/manifest.webmanifest", include_in_schema=False)
async def manifest() -> File:
    return _pwa_file("manifest.webmanifest", "application/manifest+json")


@get("/sw.js", include_in_schema=False)
async def service_worker() -> File:
    """From the root, so the worker may control every page; never cached, so updates land."""
    return _pwa_file("sw.js", "text/javascript", {"Service-Worker-Allowed": "/"})


@get("/offline.html", include_in_schema=False)
async def offline_page() -> File:
    # Litestar adds the charset to text types itself; naming it here would send it twice.
    return _pwa_file("offline.html", "text/html")


def _pwa_file(name: str, media_type: str, headers: dict[str, str] | None = None) -> File:
    return File(
        path=PWA_DIR / name,
        media_type=media_type,
        content_disposition_type="inline",
        headers={"Cache-Control": "no-cache", **(headers or {})},
    )


ROUTES: list[Any] = [
    RepController,
    launch,
    manifest,
    service_worker,
    offline_page,
    create_static_files_router(path="/pwa/icons", directories=[PWA_DIR / "icons"]),
]
