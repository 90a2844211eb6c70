"""The manager console: sign-in, dashboard, lead journeys, rules, replays, scores; the landing page.

Console pages need a signed-in user in the session cookie; without one a page redirects to
the login form and an htmx request is told to go there instead of swapping it in.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.channels import ChannelsPlugin
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, MultipartBody, URLEncodedBody
from litestar.response import Redirect, ServerSentEvent, Stream, Template
from litestar.response.sse import ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access import throttle
from backend.access.service import (
    authenticate_user,
    check_sign_in_link,
    mail_sign_in_link,
    use_sign_in_link,
    user_scope,
)
from backend.access.sessions import rotate_session_id
from backend.console import leads as lead_list
from backend.console import service
from backend.console.formatting import HELPERS, figure_cards, when
from backend.console.leads import LeadQuery
from backend.console.live import CHANNEL as LIVE_CHANNEL
from backend.console.live import events_for as live_events
from backend.console.live import words as live_words
from backend.console.scope import Scope, scope_from_session
from backend.errors import BadInput, NotAuthenticated, NotFound, PursuitError
from backend.reports.service import LeadFilter, Money
from backend.roster import service as roster
from backend.roster.service import agent_names
from backend.scoring import advice

logger = logging.getLogger(__name__)

LOGIN_URL = "/console/login"
LIVE_RETRY_MS = 2000
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
    scope = await user_scope(session, user)
    rotate_session_id(request)
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
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        view, problem = _view(request)
        scope = scope_from_session(request.session)
        now = datetime.now(UTC)
        board = await service.dashboard(db_session, view, scope, _money(request), now)
        context = await _leads_context(db_session, view, scope, now)
        return render(
            "dashboard.html",
            user=request.session,
            view=view,
            period=view.period,
            presets=service.presets(now.date()),
            statuses=service.LEAD_STATUSES,
            period_problem=problem,
            figures=figure_cards(board.summary, board.summary.currency),
            charts=board.charts,
            alerts=board.alerts,
            updated=when(now),
            teams=_visible(await roster.team_names(db_session), scope.sees_team),
            partners=_visible(await roster.partner_names(db_session), scope.sees_partner),
            agents=await service.assignable_agents(db_session, scope),
            **context,
        )

    @get("/figures")
    async def figures(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        view, problem = _view(request)
        scope = scope_from_session(request.session)
        settings = request.app.state.settings
        figures = await service.figures(
            db_session,
            view.period,
            settings.currency,
            settings.exchange_rates,
            view.chosen,
            scope,
        )
        return render(
            "_figures.html",
            figures_problem=problem,
            view=view,
            period=view.period,
            figures=figure_cards(figures, figures.currency),
            updated=when(datetime.now(UTC)),
        )

    @get("/charts")
    async def charts(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        view, _ = _view(request)
        scope = scope_from_session(request.session)
        now = datetime.now(UTC)
        board = await service.dashboard(db_session, view, scope, _money(request), now)
        return render("_charts.html", view=view, charts=board.charts)

    @get("/charts/{key:str}")
    async def chart(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        key: FromPath[str],
        format: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """One chart: its fragment, or with ``format=csv`` its numbers as a CSV file."""
        view, _ = _view(request)
        scope = scope_from_session(request.session)
        now = datetime.now(UTC)
        board = await service.dashboard(db_session, view, scope, _money(request), now)
        found = next((c for c in board.charts if c.key == key), None)
        if found is None:
            message = f"There is no chart called {key!r}."
            return render("not_found.html", 404, user=request.session, message=message)
        if format == "csv":
            return Response(
                service.chart_csv(found),
                media_type="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{key}.csv"'},
            )
        return render("_chart.html", view=view, chart=found)

    @get("/live")
    async def live(self, request: Request[Any, Any, Any]) -> ServerSentEvent:
        """Committed journey events the viewer's scope reaches; holds no database connection."""
        plugin = request.app.plugins.get(ChannelsPlugin)
        scope = scope_from_session(request.session)
        engine = request.app.template_engine
        assert engine is not None, "the app is configured with templates"
        item = engine.get_template("console/_live_item.html")

        async def stream() -> AsyncIterator[ServerSentEventMessage]:
            async with plugin.start_subscription([LIVE_CHANNEL]) as subscriber:
                yield ServerSentEventMessage(comment="live", retry=LIVE_RETRY_MS)
                async for event in live_events(subscriber, scope):
                    html = item.render(event=event, words=live_words(event), **HELPERS)
                    yield ServerSentEventMessage(data=" ".join(html.split()), event="lead")

        return ServerSentEvent(stream())

    @get("/leads")
    async def leads(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template | Redirect:
        if not is_htmx(request):
            # The list alone is a fragment; a browser that opens it gets the whole page.
            query = request.url.query
            return Redirect(f"/console/?{query}#leads" if query else "/console/#leads")
        view, problem = _view(request)
        scope = scope_from_session(request.session)
        context = await _leads_context(db_session, view, scope, datetime.now(UTC))
        context["leads_problem"] = context["leads_problem"] or problem
        return render("_leads.html", view=view, period=view.period, **context)

    @get("/leads.csv")
    async def leads_csv(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """The filtered list, every page of it, streamed as CSV safe to open in a spreadsheet."""
        view, problem = _view(request)
        if problem:
            raise BadInput(problem)
        scope = scope_from_session(request.session)
        now = datetime.now(UTC)
        await lead_list.conditions(db_session, view.leads, None, None, scope, now)  # checks input
        owners = await agent_names(db_session)
        await db_session.close()  # the export reads in short sessions of its own
        rows = lead_list.export(
            request.app.state.sessions,
            view.leads,
            since=view.period.start,
            until=view.period.end,
            now=now,
            scope=scope,
            owners=owners,
        )
        name = f"leads-{now.strftime('%Y%m%d-%H%M%S')}.csv"
        return Stream(
            rows,
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get("/leads/{lead_id:str}")
    async def lead(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
        done: FromQuery[str | None] = None,
    ) -> Template:
        return await _lead_page(request, db_session, lead_id, DONE.get(done or ""))

    @post("/leads/{lead_id:str}/reassign", status_code=303)
    async def reassign(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
        data: URLEncodedBody[ReassignForm],
    ) -> Response[Any]:
        scope, by = scope_from_session(request.session), _by(request)
        try:
            await service.reassign(db_session, lead_id, data.agent_id, scope, by)
        except PursuitError as exc:
            return await _refused(request, db_session, lead_id, exc)
        logger.info("lead reassigned from console lead_id=%s agent_id=%s", lead_id, data.agent_id)
        return Redirect(f"/console/leads/{lead_id}?done=reassigned", status_code=303)

    @post("/leads/{lead_id:str}/reroute", status_code=303)
    async def reroute(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
    ) -> Response[Any]:
        scope, by = scope_from_session(request.session), _by(request)
        try:
            await service.send_back(db_session, lead_id, scope, by)
        except PursuitError as exc:
            return await _refused(request, db_session, lead_id, exc)
        return Redirect(f"/console/leads/{lead_id}?done=rerouted", status_code=303)

    @post("/leads/{lead_id:str}/spam", status_code=303)
    async def spam(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
    ) -> Response[Any]:
        scope, by = scope_from_session(request.session), _by(request)
        try:
            await service.mark_spam(db_session, lead_id, scope, by)
        except PursuitError as exc:
            return await _refused(request, db_session, lead_id, exc)
        return Redirect(f"/console/leads/{lead_id}?done=spam", status_code=303)

    @post("/leads/{lead_id:str}/merge", status_code=303)
    async def merge(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
        data: URLEncodedBody[MergeForm],
    ) -> Response[Any]:
        scope, by = scope_from_session(request.session), _by(request)
        try:
            await service.merge_in(db_session, lead_id, data.other_lead, scope, by)
        except NotFound as exc:
            await db_session.rollback()
            return await _lead_page(
                request, db_session, lead_id, problem=exc.message, status_code=404
            )
        except PursuitError as exc:
            return await _refused(request, db_session, lead_id, exc)
        return Redirect(f"/console/leads/{lead_id}?done=merged", status_code=303)

    @post("/leads/{lead_id:str}/inquiries/{inquiry_id:str}/split", status_code=303)
    async def split(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        lead_id: FromPath[str],
        inquiry_id: FromPath[str],
    ) -> Response[Any]:
        scope, by = scope_from_session(request.session), _by(request)
        try:
            await service.split_out(db_session, lead_id, inquiry_id, scope, by)
        except PursuitError as exc:
            return await _refused(request, db_session, lead_id, exc)
        return Redirect(f"/console/leads/{lead_id}?done=split", status_code=303)

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


def _money(request: Request[Any, Any, Any]) -> Money:
    settings = request.app.state.settings
    return Money(settings.currency, settings.exchange_rates)


def _by(request: Request[Any, Any, Any]) -> str:
    return f"user:{request.session.get('user_id', '')}"


def _visible(names: dict[str, str], sees: Any) -> dict[str, str]:
    return {key: name for key, name in sorted(names.items(), key=lambda kv: kv[1]) if sees(key)}


def _view(request: Request[Any, Any, Any]) -> tuple[service.View, str | None]:
    """The dashboard's choices from the query string, and why any was not usable."""
    query = request.query_params
    period, problem = _period(query.get("since"), query.get("until"))
    chosen = service.figures_filter({key: query.get(key) for key in LeadFilter.FIELDS})
    leads = LeadQuery(
        chosen=chosen,
        status=query.get("status") or None,
        owner=query.get("owner") or None,
        at_risk=query.get("at_risk") in ("1", "on", "true"),
        search=(query.get("q") or "")[:200],
    )
    return service.View(period, leads, query.get("cursor") or None), problem


async def _leads_context(
    session: AsyncSession, view: service.View, scope: Scope, now: datetime
) -> dict[str, Any]:
    try:
        page = await service.leads_page(session, view, scope, now)
    except BadInput as exc:
        fallback = service.View(view.period, LeadQuery(view.chosen))
        page = await service.leads_page(session, fallback, scope, now)
        return {"page": page, "leads_problem": exc.message}
    return {"page": page, "leads_problem": None}


class ReassignForm(msgspec.Struct):
    agent_id: str = ""


class MergeForm(msgspec.Struct):
    other_lead: str = ""


DONE = {
    "reassigned": "Offered to the chosen agent; their pending offer is below.",
    "rerouted": "Sent back to routing: the new decision is at the end of the timeline.",
    "spam": "Closed as spam. It no longer counts in any figure.",
    "split": "The inquiry now has a lead of its own.",
    "merged": "The other lead's inquiries are now on this lead; the other is closed as merged.",
}


async def _lead_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    lead_id: str,
    message: str | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Template:
    scope = scope_from_session(request.session)
    try:
        journey = await service.lead_journey(session, lead_id, scope)
    except NotFound as exc:
        return render("not_found.html", 404, user=request.session, message=exc.message)
    return render(
        "lead.html",
        status_code,
        user=request.session,
        journey=journey,
        lead=journey.lead,
        steps=service.timeline(journey),
        agents_to_offer=await service.assignable_agents(session, scope),
        can_split=len(journey.inquiries) > 1,
        done=message,
        problem=problem,
    )


async def _refused(
    request: Request[Any, Any, Any], session: AsyncSession, lead_id: str, exc: PursuitError
) -> Template:
    """The lead page again, saying why the action changed nothing."""
    await session.rollback()
    status = getattr(exc, "status_code", 409)
    if isinstance(exc, NotFound):
        return render("not_found.html", 404, user=request.session, message=exc.message)
    return await _lead_page(request, session, lead_id, problem=exc.message, status_code=status)


ROUTES: list[Any] = [landing, SignInController, ConsoleController]
