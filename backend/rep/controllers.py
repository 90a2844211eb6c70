"""The rep app: one agent's queue opened by a link token, its one-tap actions, and the PWA files.

Everything under ``/r/<token>`` is scoped by the token: it only ever reaches that agent's
offers and leads. Opening the page changes nothing; each action answers the re-rendered
queue, with the outcome or the refusal in a sentence, so htmx can swap it in place.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import File, Template
from litestar.static_files import create_static_files_router
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import agent_for_link, store_reply, stored_reply
from backend.errors import BadInput, NotFound, PursuitError
from backend.i18n import HTML_LANG, locale_for, translations
from backend.intake.service import inquiries_for_lead
from backend.pursuit.schemas import activity_json, lead_json
from backend.pursuit.service import (
    ACTIVITY_KINDS,
    DECLINE_REASONS,
    OUTCOMES,
    Queue,
    accept_offer,
    agent_queue,
    decline_offer,
    journey,
    log_activity,
)
from backend.rep.wording import N_, wording
from backend.roster.service import get_agent
from backend.scoring.service import own_score

logger = logging.getLogger(__name__)

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
LINK_GONE = N_(
    "This link does not open any leads: it is unknown, revoked or expired. "
    "Ask your manager for a new one."
)
ALREADY_DONE = N_("This answer had already reached Pursuit.")
MAX_KEY_LENGTH = 200


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
    locale: str


@dataclass(frozen=True)
class Said:
    """What an action tells the rep (a message id and the values to fill into it), and what
    the API would have answered for it, kept for a replay of its ``Idempotency-Key``."""

    message: str
    values: dict[str, str]
    answer: dict[str, Any] = field(default_factory=dict)
    status_code: int = 200


def lead_name(lead: Any) -> str:
    person = " ".join(part for part in (lead.first_name, lead.last_name) if part)
    return str(lead.company or person or "—")


CHOICES = {"decline_reasons": DECLINE_REASONS, "kinds": ACTIVITY_KINDS, "outcomes": OUTCOMES}


def browser_locale(request: Request[Any, Any, Any]) -> str:
    return locale_for(None, request.headers.get("accept-language"))


def render(
    name: str, locale: str, status_code: int = 200, timezone: str = "UTC", **context: Any
) -> Template:
    return Template(
        template_name=f"rep/{name}",
        context={"lead_name": lead_name, **CHOICES, **wording(locale, timezone), **context},
        status_code=status_code,
        headers={**NO_STORE, "Content-Language": HTML_LANG.get(locale, "en")},
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def rep_for(session: AsyncSession, token: str, request: Request[Any, Any, Any]) -> Rep:
    agent_id = await agent_for_link(session, token)
    if agent_id is None:
        raise NotFound(LINK_GONE)
    agent = await get_agent(session, agent_id)
    locale = locale_for(agent.languages, request.headers.get("accept-language"))
    return Rep(agent.id, agent.name, agent.timezone, token, locale)


async def inquiries_by_lead(session: AsyncSession, queue: Queue) -> dict[str, list[Any]]:
    """Every inquiry behind each open lead, so the rep sees what was asked each time."""
    leads = [lead for _, lead in queue.pending] + queue.owned
    return {lead.id: await inquiries_for_lead(session, lead.id) for lead in leads}


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
    inquiries = await inquiries_by_lead(session, queue)
    htmx = is_htmx(request)
    own = None if htmx else await own_score(session, rep.id, datetime.now(UTC))
    return render(
        "_queue.html" if htmx else "app.html",
        rep.locale,
        status_code,
        rep.timezone,
        rep=rep,
        queue=queue,
        inquiries=inquiries,
        own=own,
        message=message,
        failed=failed,
        highlight=highlight,
    )


Action = Callable[[Rep], Awaitable[Said]]


def idempotency_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get("idempotency-key")
    # The API refuses longer keys; a page action simply runs unkeyed rather than fail a tap.
    return key if key is not None and len(key) <= MAX_KEY_LENGTH else None


async def replayed(
    request: Request[Any, Any, Any], session: AsyncSession, rep: Rep, scope: str, key: str
) -> Template | None:
    """The queue with the first answer's message, when this key was already answered."""
    reply = await stored_reply(session, scope, key)
    if reply is None:
        return None
    already = translations(rep.locale).gettext(ALREADY_DONE)
    return await queue_view(
        request, session, rep, message=str(reply.body.get("message") or already)
    )


async def act(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    token: str,
    action: Action,
    scope: str = "",
) -> Template:
    """Run one rep action and answer the queue, with a refusal shown as a sentence.

    With an ``Idempotency-Key`` a repeat of the same action answers as the first did, so a
    tap sent twice by a flaky connection or replayed from the phone's outbox applies once.
    The scope is the API's for the same action, so the two recognise each other's keys.
    """
    try:
        rep = await rep_for(session, token, request)
    except NotFound as exc:
        name = "_gone.html" if is_htmx(request) else "not_found.html"
        locale = browser_locale(request)
        return render(name, locale, 404, message=translations(locale).gettext(exc.message))

    key, reply_scope = idempotency_key(request) if scope else None, f"agent:{rep.id}:{scope}"[:100]
    if key is not None and (shown := await replayed(request, session, rep, reply_scope, key)):
        return shown

    _ = translations(rep.locale).gettext
    try:
        said = await action(rep)
    except PursuitError as exc:
        await session.rollback()
        logger.info("rep action refused agent_id=%s code=%s", rep.id, exc.code)
        return await queue_view(
            request, session, rep, message=_(exc.message), failed=True, status_code=exc.status_code
        )

    message = _(said.message) % said.values
    if key is not None:
        answer = {**said.answer, "message": message}
        await store_reply(session, reply_scope, key, said.status_code, answer)
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
        decline: FromQuery[bool] = False,
    ) -> Template:
        try:
            rep = await rep_for(db_session, token, request)
        except NotFound as exc:
            locale = browser_locale(request)
            message = translations(locale).gettext(exc.message)
            return render("not_found.html", locale, 404, message=message)
        shown = await queue_view(request, db_session, rep, highlight=offer)
        if decline and offer:
            shown.context["decline_open"] = offer  # from a notification's Decline button
        return shown

    @get("/{token:str}/queue")
    async def queue(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Template:
        async def just_show(rep: Rep) -> Said:
            return Said("", {})

        return await act(request, db_session, token, just_show)

    @post("/{token:str}/offers/{offer_id:str}/accept", status_code=200)
    async def accept(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        offer_id: FromPath[str],
    ) -> Template:
        async def accept_it(rep: Rep) -> Said:
            lead = await accept_offer(db_session, offer_id, agent_id=rep.id)
            answer = lead_json(
                lead,
                await journey(db_session, lead.id),
                await inquiries_for_lead(db_session, lead.id),
            )
            message = N_("Accepted: %(name)s is yours. Get in touch now.")
            return Said(message, {"name": lead_name(lead)}, answer)

        return await act(request, db_session, token, accept_it, f"accept:{offer_id}")

    @post("/{token:str}/offers/{offer_id:str}/decline", status_code=200)
    async def decline(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        offer_id: FromPath[str],
        data: URLEncodedBody[DeclineForm],
    ) -> Template:
        async def decline_it(rep: Rep) -> Said:
            if not data.reason:
                raise BadInput(
                    N_("Pick a reason for declining, then tap Decline again."), field="reason"
                )
            lead, next_offer = await decline_offer(
                db_session, offer_id, agent_id=rep.id, reason=data.reason, note=data.note
            )
            name = {"name": lead_name(lead)}
            answer = {"offer_id": offer_id, "status": "declined", "lead_status": lead.status}
            if next_offer is None:
                return Said(N_("Declined: %(name)s goes back to your manager."), name, answer)
            return Said(N_("Declined: %(name)s goes to the next rep."), name, answer)

        return await act(request, db_session, token, decline_it, f"decline:{offer_id}")

    @post("/{token:str}/leads/{lead_id:str}/activities", status_code=200)
    async def log(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        lead_id: FromPath[str],
        data: URLEncodedBody[ActivityForm],
    ) -> Template:
        async def log_it(rep: Rep) -> Said:
            outcome = data.outcome or None
            activity = await log_activity(
                db_session,
                lead_id,
                agent_id=rep.id,
                kind=data.kind,
                outcome=outcome,
                note=data.note,
            )
            labels = wording(rep.locale, rep.timezone)["label"]
            kind, answer = labels(data.kind), activity_json(activity)
            if outcome is None:
                return Said(N_("Logged: %(kind)s."), {"kind": kind}, answer, 201)
            said = {"kind": kind, "outcome": labels(outcome).lower()}
            return Said(N_("Logged: %(kind)s, %(outcome)s."), said, answer, 201)

        return await act(request, db_session, token, log_it, f"activity:{lead_id}")


@get("/app", include_in_schema=False)
async def launch(request: Request[Any, Any, Any]) -> Template:
    """The installed app's start page: its script reopens the rep's stored link."""
    return render("launch.html", browser_locale(request))


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
