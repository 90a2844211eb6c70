"""The manager console: sign-in, dashboard, lead journeys, rules, replays, scores; the landing page.

Console pages need a signed-in user in the session cookie; without one a page redirects to
the login form and an htmx request is told to go there instead of swapping it in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access import throttle
from backend.access.service import (
    authenticate_user,
    check_sign_in_link,
    mail_sign_in_link,
    use_sign_in_link,
    user_scope,
)
from backend.console import service
from backend.console.formatting import HELPERS, figure_cards, when
from backend.errors import BadInput, NotAuthenticated, NotFound
from backend.scoring import advice

logger = logging.getLogger(__name__)

LOGIN_URL = "/console/login"
CONSOLE_ROLES = ("admin", "manager")


class SignInForm(msgspec.Struct):
    email: str = ""
    password: str = ""


class LinkRequest(msgspec.Struct):
    email: str = ""


LINK_SENT = (
    "If that address belongs to a console user, a sign-in link is on its way. "
    "It works once, within 15 minutes."
)


@dataclass
class ReplayUpload:
    """The replay form: a period, the proposal pasted, or a file of it (which wins)."""

    since: str = ""
    until: str = ""
    rules: str = ""
    file: UploadFile | None = None


REPLAY_HELPERS: dict[str, Any] = {"offered_bars": service.offered_bars}
SCORE_HELPERS: dict[str, Any] = {
    "sparkline": service.sparkline,
    "part_label": advice.LABELS.get,
    "estimate_text": advice.estimate_text,
    "reason_text": advice.reason_text,
}


def render(name: str, status_code: int = 200, **context: Any) -> Template:
    return Template(
        template_name=f"console/{name}", context={**HELPERS, **context}, status_code=status_code
    )


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


async def require_user(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """Let signed-in console users through; send everyone else to the login form."""
    if request.session.get("role") in CONSOLE_ROLES:
        return None
    if is_htmx(request):
        return Response(content=b"", status_code=401, headers={"HX-Redirect": LOGIN_URL})
    return Redirect(LOGIN_URL, status_code=303)


async def start_session(
    request: Request[Any, Any, Any], session: AsyncSession, user: Any
) -> Redirect:
    """Remember the user and what they may see; every console page reads both from here."""
    # TODO: issue a fresh session id here once Litestar's server-side backend can rotate one;
    # until then an id planted in the browser before sign-in stays the signed-in one.
    scope = await user_scope(session, user)
    request.set_session(
        {"user_id": user.id, "role": user.role, "email": user.email, **scope.to_session()}
    )
    logger.info("console sign-in user_id=%s role=%s", user.id, user.role)
    return Redirect("/console", status_code=303)


def client_ip(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


@get("/", summary="What Pursuit does", include_in_schema=False)
async def landing() -> Template:
    return Template(template_name="landing.html")


class SignInController(Controller):
    """The console's doors: password form, mailed single-use links and signing out.

    Opening a sign-in link only shows a button: mail scanners open links, people press buttons.
    """

    path = "/console"
    include_in_schema = False

    @get("/login")
    async def login_form(self) -> Template:
        return render("login.html")

    @post("/login")
    async def login(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[SignInForm],
    ) -> Response[Any]:
        store = request.app.stores.get("sessions")
        ip = client_ip(request)
        try:
            await throttle.check(store, "password", ip, data.email)
            user = await authenticate_user(db_session, data.email, data.password)
        except throttle.TooManyAttempts as exc:
            return render("login.html", 429, message=exc.message, email=data.email)
        except NotAuthenticated as exc:
            await throttle.count_failure(store, "password", ip, data.email)
            return render("login.html", 401, message=exc.message, email=data.email)
        return await start_session(request, db_session, user)

    @post("/login/link", status_code=200)
    async def request_link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[LinkRequest],
    ) -> Template:
        """Mail a sign-in link; the answer is the same whether or not the address is known."""
        store = request.app.stores.get("sessions")
        ip = client_ip(request)
        if "@" not in data.email:
            return render("login.html", 422, message="Enter your email address.", link=True)
        try:
            await throttle.check(store, "link", ip, data.email)
        except throttle.TooManyAttempts as exc:
            return render("login.html", 429, message=exc.message, email=data.email, link=True)
        await throttle.count_failure(store, "link", ip, data.email)
        await mail_sign_in_link(db_session, request.app.state.settings, data.email)
        return render("login.html", notice=LINK_SENT, email=data.email, link=True)

    @get("/sign-in/{token:str}")
    async def sign_in_page(
        self, db_session: NamedDependency[AsyncSession], token: FromPath[str]
    ) -> Template:
        try:
            await check_sign_in_link(db_session, token)
        except NotAuthenticated as exc:
            return render("login.html", 401, message=exc.message)
        return render("sign_in.html", token=token)

    @post("/sign-in/{token:str}")
    async def sign_in_link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Response[Any]:
        try:
            user = await use_sign_in_link(db_session, token)
        except (NotAuthenticated, NotFound) as exc:
            return render("login.html", 401, message=exc.message)
        return await start_session(request, db_session, user)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
        """Ends the session in the store too: the old cookie no longer signs anyone in."""
        logger.info("console sign-out user_id=%s", request.session.get("user_id"))
        request.clear_session()
        return Redirect(LOGIN_URL, status_code=303)


class ConsoleController(Controller):
    """Screens for a signed-in manager."""

    path = "/console"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        period, problem = _period(since, until)
        context = await _figures_context(db_session, period, request)
        context.update(await _leads_context(db_session, period, status, cursor))

        now = datetime.now(UTC)
        return render(
            "dashboard.html",
            user=request.session,
            presets=service.presets(now.date()),
            statuses=service.LEAD_STATUSES,
            period_problem=problem,
            flagged_rules=await service.flagged_rules(db_session, now),
            **context,
        )

    @get("/figures")
    async def figures(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Template:
        period, problem = _period(since, until)
        context = await _figures_context(db_session, period, request)
        return render("_figures.html", figures_problem=problem, **context)

    @get("/leads")
    async def leads(
        self,
        db_session: NamedDependency[AsyncSession],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        status: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Template:
        period, problem = _period(since, until)
        context = await _leads_context(db_session, period, status, cursor)
        context["leads_problem"] = context["leads_problem"] or problem
        return render("_leads.html", period=period, **context)

    @get("/leads/{lead_id:str}")
    async def lead(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
    ) -> Template:
        try:
            journey = await service.lead_journey(db_session, lead_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        return render("lead.html", user=request.session, journey=journey, lead=journey.lead)

    @get("/rules")
    async def rules(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        overview = await service.rules_overview(db_session, datetime.now(UTC))
        return render(
            "rules.html",
            user=request.session,
            overview=overview,
            conditions_text=service.conditions_text,
        )

    @get("/rules/replay")
    async def replay_form(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        form = await service.replay_defaults(db_session, datetime.now(UTC).date())
        return render("replay.html", user=request.session, form=form, report=None, **REPLAY_HELPERS)

    @post("/rules/replay", status_code=200)
    async def replay(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: MultipartBody[ReplayUpload],
    ) -> Template:
        """Replay a proposal; an htmx request gets the result fragment alone."""
        form = service.ReplayForm(data.since, data.until, await _proposal_text(data))
        report, problem = None, None
        try:
            report = await service.run_replay(db_session, form)
        except BadInput as exc:
            problem = exc.message
        name = "_replay.html" if is_htmx(request) else "replay.html"
        status = 422 if problem else 200
        return render(
            name,
            status,
            user=request.session,
            form=form,
            report=report,
            problem=problem,
            **REPLAY_HELPERS,
        )

    @get("/scores")
    async def scores(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        overview = await service.scores_overview(db_session, datetime.now(UTC))
        return render(
            "scores.html", user=request.session, overview=overview, message=None, **SCORE_HELPERS
        )

    @get("/scores/{agent_id:str}")
    async def agent_score(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        agent_id: FromPath[str],
    ) -> Template:
        try:
            view = await service.agent_score(db_session, agent_id, datetime.now(UTC))
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        return render("agent_score.html", user=request.session, view=view, **SCORE_HELPERS)

    @post("/scores/{agent_id:str}/restore", status_code=200)
    async def restore(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        agent_id: FromPath[str],
    ) -> Response[Any]:
        """Restore an unreachable agent; htmx gets the unreachable list, a form the agent's page."""
        by = str(request.session.get("user_id", ""))
        try:
            name = await service.restore(db_session, agent_id, datetime.now(UTC), by)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        logger.info("agent restored from console agent_id=%s user_id=%s", agent_id, by)
        if not is_htmx(request):
            return Redirect(f"/console/scores/{agent_id}", status_code=303)
        overview = await service.scores_overview(db_session, datetime.now(UTC))
        message = f"{name} is reachable again and will be offered leads."
        return render("_unreachable.html", overview=overview, message=message, **SCORE_HELPERS)

    @get("/{rest:path}")
    async def unknown(self, request: Request[Any, Any, Any], rest: FromPath[str]) -> Template:
        message = "There is no console page at this address."
        return render("not_found.html", 404, user=request.session, message=message)


async def _proposal_text(data: ReplayUpload) -> str:
    if data.file is None or not data.file.filename:
        return data.rules
    content = await data.file.read()
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return ""  # an unreadable file reads as no proposal, and the form says so


def _period(since: str | None, until: str | None) -> tuple[service.Period, str | None]:
    """The chosen period, or all time and the reason the choice was not usable."""
    try:
        period = service.parse_period(since, until)
        period.start, period.end  # noqa: B018 - both ends must be instants the queries can take
    except BadInput as exc:
        return service.Period(), exc.message
    except (ValueError, OverflowError):
        return service.Period(), "That date is out of range."
    return period, None


async def _figures_context(
    session: AsyncSession, period: service.Period, request: Request[Any, Any, Any]
) -> dict[str, Any]:
    settings = request.app.state.settings
    figures = await service.figures(session, period, settings.currency, settings.exchange_rates)
    return {
        "period": period,
        "figures": figure_cards(figures, figures.currency),
        "updated": when(datetime.now(UTC)),
    }


async def _leads_context(
    session: AsyncSession, period: service.Period, status: str | None, cursor: str | None
) -> dict[str, Any]:
    try:
        page = await service.leads_page(session, period, status, cursor)
    except BadInput as exc:
        page = await service.leads_page(session, period, None, None)
        return {"page": page, "leads_problem": exc.message}
    return {"page": page, "leads_problem": None}


ROUTES: list[Any] = [landing, SignInController, ConsoleController]
