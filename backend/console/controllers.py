"""The manager console: sign-in, the live dashboard and lead journeys; also the landing page.

Console pages need a signed-in user in the session cookie; without one a page redirects to
the login form and an htmx request is told to go there instead of swapping it in.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.service import authenticate_user, use_sign_in_link
from backend.console import service
from backend.console.formatting import HELPERS, figure_cards, when
from backend.errors import BadInput, NotAuthenticated, NotFound

logger = logging.getLogger(__name__)

LOGIN_URL = "/console/login"
CONSOLE_ROLES = ("admin", "manager")


class SignInForm(msgspec.Struct):
    email: str = ""
    password: str = ""


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


def start_session(request: Request[Any, Any, Any], user: Any) -> Redirect:
    request.set_session({"user_id": user.id, "role": user.role, "email": user.email})
    logger.info("console sign-in user_id=%s role=%s", user.id, user.role)
    return Redirect("/console", status_code=303)


@get("/", summary="What Pursuit does", include_in_schema=False)
async def landing() -> Template:
    return Template(template_name="landing.html")


class SignInController(Controller):
    """The console's doors: password form, single-use links and signing out."""

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
        try:
            user = await authenticate_user(db_session, data.email, data.password)
        except NotAuthenticated as exc:
            return render("login.html", 401, message=exc.message, email=data.email)
        return start_session(request, user)

    @get("/sign-in/{token:str}")
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
        return start_session(request, user)

    @post("/logout")
    async def logout(self, request: Request[Any, Any, Any]) -> Redirect:
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
        context = await _figures_context(db_session, period)
        context.update(await _leads_context(db_session, period, status, cursor))

        today = datetime.now(UTC).date()
        return render(
            "dashboard.html",
            user=request.session,
            presets=service.presets(today),
            statuses=service.LEAD_STATUSES,
            period_problem=problem,
            **context,
        )

    @get("/figures")
    async def figures(
        self,
        db_session: NamedDependency[AsyncSession],
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
    ) -> Template:
        period, problem = _period(since, until)
        context = await _figures_context(db_session, period)
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

    @get("/{rest:path}")
    async def unknown(self, request: Request[Any, Any, Any], rest: FromPath[str]) -> Template:
        message = "There is no console page at this address."
        return render("not_found.html", 404, user=request.session, message=message)


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


async def _figures_context(session: AsyncSession, period: service.Period) -> dict[str, Any]:
    figures = await service.figures(session, period)
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
