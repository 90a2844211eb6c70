"""Console pages for the roster: agents, teams and partner companies, scoped to the manager.

Forms post with htmx and get the form back with messages beside the fields; a form posted
without htmx gets the whole page, so every screen also works without script.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, MultipartBody, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.controllers import is_htmx, render, require_user
from backend.console.guard import actor_of, check_agent_visible, check_placement, is_admin, scope_of
from backend.console.scope import Scope
from backend.errors import BadInput, Forbidden, NotFound, PursuitError
from backend.roster import service, transfer
from backend.roster.models import Agent
from backend.roster.service import IANA_ZONES
from backend.roster.text import (
    day_text,
    list_text,
    parse_day,
    parse_list,
    parse_territories,
    territories_text,
)
from backend.routing.eligibility import WEEKDAYS

logger = logging.getLogger(__name__)

ZONES = sorted(IANA_ZONES)
ROSTER_HELPERS: dict[str, Any] = {
    "weekdays": WEEKDAYS,
    "day_text": day_text,
    "list_text": list_text,
    "territories_text": territories_text,
}


def agent_values(form: dict[str, Any]) -> dict[str, Any]:
    """The agent form's text fields read into the roster's values; mistakes name their field."""
    values: dict[str, Any] = {
        "name": form.get("name", ""),
        "email": form.get("email") or None,
        "phone": form.get("phone") or None,
        "team_id": form.get("team_id") or None,
        "partner_id": form.get("partner_id") or None,
        "territories": parse_territories(form.get("territories", "")),
        "products": parse_list(form.get("products", "")),
        "languages": [code.lower() for code in parse_list(form.get("languages", ""))],
        "tier": _whole(form.get("tier", "1"), "tier"),
        "capacity": _whole(form.get("capacity", "25"), "capacity"),
        "timezone": (form.get("timezone") or "UTC").strip(),
        "delegate_id": form.get("delegate_id") or None,
        "active": form.get("active") == "on",
    }
    values["kind"] = "partner" if values["partner_id"] else "employee"
    if form.get("always") == "on":
        values["working_hours"] = None
    else:
        hours = {day: parse_day(day, form.get(f"hours_{day}", "")) for day in WEEKDAYS}
        values["working_hours"] = {day: spans for day, spans in hours.items() if spans}
        if not values["working_hours"]:
            raise BadInput(
                "Give working hours for at least one day, or tick Always available.",
                field="working_hours",
            )
    values["out_of_office_until"] = _back_on(form.get("back_on", ""), values["timezone"])
    return values


def _whole(text: str, field: str) -> int:
    try:
        return int(str(text).strip())
    except ValueError as exc:
        raise BadInput(f"{field.capitalize()} must be a whole number.", field=field) from exc


def _back_on(text: str, zone: str) -> datetime | None:
    """The day an agent is back, as the start of that day in their time zone."""
    if not text.strip():
        return None
    try:
        day = date.fromisoformat(text.strip())
        tz = ZoneInfo(zone) if zone in IANA_ZONES else UTC
    except ValueError as exc:
        raise BadInput("Write the day they are back as a date.", field="back_on") from exc
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def form_of(agent: Agent | None) -> dict[str, Any]:
    """The form's fields for an agent, or for a new one."""
    if agent is None:
        return {"active": "on", "tier": "1", "capacity": "25", "timezone": "UTC", "always": "on"}
    form: dict[str, Any] = {
        "name": agent.name,
        "email": agent.email or "",
        "phone": agent.phone or "",
        "team_id": agent.team_id or "",
        "partner_id": agent.partner_id or "",
        "territories": territories_text(agent.territories),
        "products": list_text(agent.products),
        "languages": list_text(agent.languages),
        "tier": str(agent.tier),
        "capacity": str(agent.capacity),
        "timezone": agent.timezone,
        "delegate_id": agent.delegate_id or "",
        "active": "on" if agent.active else "",
        "always": "on" if agent.working_hours is None else "",
        "back_on": _back_on_text(agent),
    }
    for day in WEEKDAYS:
        form[f"hours_{day}"] = day_text(agent.working_hours, day)
    return form


def _back_on_text(agent: Agent) -> str:
    if agent.out_of_office_until is None:
        return ""
    zone = ZoneInfo(agent.timezone) if agent.timezone in IANA_ZONES else UTC
    return agent.out_of_office_until.astimezone(zone).date().isoformat()


async def _choices(session: AsyncSession, scope: Scope) -> dict[str, Any]:
    teams = {k: v for k, v in (await service.team_names(session)).items() if scope.sees_team(k)}
    partners = {
        k: v for k, v in (await service.partner_names(session)).items() if scope.sees_partner(k)
    }
    agents = [
        a for a in await service.list_agents(session) if scope.sees_agent(a.team_id, a.partner_id)
    ]
    return {"teams": teams, "partners": partners, "delegates": agents, "zones": ZONES}


class RosterController(Controller):
    """Agents, teams and partners as a manager keeps them."""

    path = "/console"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/agents")
    async def agents(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        scope = scope_of(request)
        agents = [
            a
            for a in await service.list_agents(db_session)
            if scope.sees_agent(a.team_id, a.partner_id)
        ]
        choices = await _choices(db_session, scope)
        return render(
            "agents.html",
            user=request.session,
            agents=agents,
            report=None,
            now=datetime.now(UTC),
            **choices,
        )

    @get("/agents/new")
    async def new_agent(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        choices = await _choices(db_session, scope_of(request))
        return _agent_page(request, None, form_of(None), {}, choices)

    @post("/agents", status_code=200)
    async def create_agent(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        scope = scope_of(request)
        try:
            values = agent_values(data)
            check_placement(scope, values["team_id"], values["partner_id"])
            agent = await service.create_agent(db_session, values, actor_of(request))
        except BadInput as exc:
            choices = await _choices(db_session, scope)
            return _agent_page(request, None, data, _errors(exc), choices, 422)
        return _saved(request, f"/console/agents/{agent.id}")

    @get("/agents/{agent_id:str}")
    async def agent(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        agent_id: FromPath[str],
    ) -> Template:
        scope = scope_of(request)
        try:
            agent = await service.get_agent(db_session, agent_id)
            check_agent_visible(scope, agent)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        choices = await _choices(db_session, scope)
        saved = request.query_params.get("saved") == "1"
        return _agent_page(request, agent, form_of(agent), {}, choices, saved=saved)

    @post("/agents/{agent_id:str}", status_code=200)
    async def update_agent(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        agent_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        scope = scope_of(request)
        try:
            agent = await service.get_agent(db_session, agent_id)
            check_agent_visible(scope, agent)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        try:
            values = agent_values(data)
            check_placement(scope, values["team_id"], values["partner_id"])
            await service.update_agent(db_session, agent_id, values, actor_of(request))
        except BadInput as exc:
            await db_session.rollback()
            agent = await service.get_agent(db_session, agent_id)
            choices = await _choices(db_session, scope)
            return _agent_page(request, agent, data, _errors(exc), choices, 422)
        return _saved(request, f"/console/agents/{agent_id}")

    @get("/agents.csv")
    async def export_agents(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[str]:
        text = await transfer.export_csv(db_session, scope_of(request))
        headers = {"Content-Disposition": 'attachment; filename="roster.csv"'}
        return Response(text, media_type="text/csv; charset=utf-8", headers=headers)

    @post("/agents/import", status_code=200)
    async def import_agents(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: MultipartBody[dict[str, Any]],
    ) -> Template:
        scope = scope_of(request)
        upload = data.get("file")
        content = await upload.read() if upload is not None and hasattr(upload, "read") else b""
        dry_run = data.get("dry_run") == "on"
        report = await transfer.import_csv(
            db_session, content, dry_run=dry_run, actor=actor_of(request), scope=scope
        )
        agents = [
            a
            for a in await service.list_agents(db_session)
            if scope.sees_agent(a.team_id, a.partner_id)
        ]
        choices = await _choices(db_session, scope)
        status = 422 if report.errors else 200
        return render(
            "agents.html",
            status,
            user=request.session,
            agents=agents,
            report=report,
            now=datetime.now(UTC),
            **choices,
        )

    @get("/teams")
    async def teams(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        return await _teams_page(request, db_session)

    @post("/teams", status_code=200)
    async def create_team(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        if not is_admin(request):
            raise Forbidden("Only an admin can add teams.")
        try:
            await service.create_team(db_session, data.get("name", ""), actor_of(request))
        except PursuitError as exc:
            return await _teams_page(request, db_session, {"name": exc.message}, data, 422)
        return Redirect("/console/teams", status_code=303)

    @post("/teams/{team_id:str}", status_code=200)
    async def rename_team(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        team_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        if not is_admin(request):
            raise Forbidden("Only an admin can rename teams.")
        try:
            await service.rename_team(db_session, team_id, data.get("name", ""), actor_of(request))
        except PursuitError as exc:
            return await _teams_page(
                request, db_session, {team_id: exc.message}, data, exc.status_code
            )
        return Redirect("/console/teams", status_code=303)

    @get("/partners")
    async def partners(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        return await _partners_page(request, db_session)

    @post("/partners", status_code=200)
    async def create_partner(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        if not is_admin(request):
            raise Forbidden("Only an admin can add partner companies.")
        try:
            share = _share(data.get("fair_share", "1"))
            await service.create_partner(db_session, data.get("name", ""), share, actor_of(request))
        except PursuitError as exc:
            field = exc.extra.get("field", "name")
            return await _partners_page(request, db_session, {field: exc.message}, data, 422)
        return Redirect("/console/partners", status_code=303)


def _share(text: str) -> float:
    try:
        return float(str(text).strip())
    except ValueError as exc:
        raise BadInput("Fair share must be a number such as 1 or 0.5.", field="fair_share") from exc


def _errors(exc: PursuitError) -> dict[str, str]:
    return {str(exc.extra.get("field") or "form"): exc.message}


def _agent_page(
    request: Request[Any, Any, Any],
    agent: Agent | None,
    form: dict[str, Any],
    errors: dict[str, str],
    choices: dict[str, Any],
    status: int = 200,
    saved: bool = False,
) -> Template:
    name = "_agent_form.html" if is_htmx(request) else "agent.html"
    return render(
        name,
        status,
        user=request.session,
        agent=agent,
        form=form,
        errors=errors,
        saved=saved,
        **choices,
        **ROSTER_HELPERS,
    )


def _saved(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    """htmx is told to load the saved agent's page; a plain form is redirected there."""
    if is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": f"{url}?saved=1"})
    return Redirect(f"{url}?saved=1", status_code=303)


async def _teams_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    scope = scope_of(request)
    teams = [t for t in await service.list_teams(session) if scope.sees_team(t.id)]
    counts = await service.agent_counts(session)
    return render(
        "teams.html",
        status,
        user=request.session,
        teams=teams,
        counts=counts,
        errors=errors or {},
        form=form or {},
        admin=is_admin(request),
    )


async def _partners_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    scope = scope_of(request)
    partners = [p for p in await service.list_partners(session) if scope.sees_partner(p.id)]
    counts = await service.agent_counts(session)
    return render(
        "partners.html",
        status,
        user=request.session,
        partners=partners,
        counts=counts,
        errors=errors or {},
        form=form or {},
        admin=is_admin(request),
    )


ROUTES: list[Any] = [RosterController]
