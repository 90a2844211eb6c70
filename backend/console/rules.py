"""Console editors for routing rules: conditions, pool, strategy, timeouts, escalation and
their order, and trying a sample lead against the rules as they stand.

A manager edits only rules whose whole pool lies within their teams and partners; other
rules read as absent. Reordering swaps a rule's priority with its visible neighbour's.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.controllers import is_htmx, render, require_user
from backend.console.guard import actor_of, scope_of
from backend.console.scope import Scope
from backend.console.service import RulesOverview, conditions_text
from backend.errors import BadInput, NotFound, PursuitError
from backend.intake.schemas import LeadIn
from backend.intake.service import normalize
from backend.pursuit.models import Lead
from backend.roster import service as roster
from backend.roster.text import list_text, parse_list
from backend.routing import service as routing
from backend.routing.eligibility import TEXT_CONDITIONS
from backend.routing.health import rule_health
from backend.routing.models import Rule
from backend.routing.service import TIMEOUT_CEILINGS
from backend.routing.strategies import STRATEGIES

logger = logging.getLogger(__name__)

TIMEOUT_FIELDS = {"accept_minutes": "accept_timeout_s", "contact_hours": "contact_timeout_s"}
UNIT_SECONDS = {"minutes": 60, "hours": 3600}
POOL_KEYS = (
    ("agent_ids", "pool_agent"),
    ("team_ids", "pool_team"),
    ("partner_ids", "pool_partner"),
)
LEAD_FIELDS = ("country", "region", "city", "postal_code", "product", "language", "campaign")


async def visible_rules(session: AsyncSession, scope: Scope) -> list[Rule]:
    """Rules in the order they are tried, those the scope may see and change."""
    rules = await routing.list_rules(session)
    if scope.unlimited:
        return rules
    agent_ids = sorted({a for r in rules for a in r.pool.get("agent_ids") or []})
    places = await roster.affiliations(session, agent_ids)
    return [r for r in rules if _pool_within(scope, r.pool, places)]


def _pool_within(
    scope: Scope, pool: dict[str, Any], places: dict[str, tuple[str | None, str | None]]
) -> bool:
    agents = pool.get("agent_ids") or []
    return (
        all(a in places and scope.sees_agent(*places[a]) for a in agents)
        and all(scope.sees_team(t) for t in pool.get("team_ids") or [])
        and all(scope.sees_partner(p) for p in pool.get("partner_ids") or [])
    )


async def visible_rule(session: AsyncSession, scope: Scope, rule_id: str) -> Rule:
    for rule in await visible_rules(session, scope):
        if rule.id == rule_id:
            return rule
    raise NotFound(f"There is no rule {rule_id} among the rules of your teams and partners.")


def _many(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key)
    if value is None or value == "":
        return []
    return [v for v in (value if isinstance(value, list) else [value]) if v]


def _number(text: Any, field: str, what: str) -> float | None:
    if text is None or str(text).strip() == "":
        return None
    try:
        number = float(str(text).strip())
    except ValueError as exc:
        raise BadInput(f"{what} must be a number.", field=field) from exc
    if not math.isfinite(number):
        raise BadInput(f"{what} must be a number.", field=field)
    return number


def _timeout(form: dict[str, Any], field: str, what: str, unit: str, default: float) -> float:
    """A timeout in the unit the editor shows, within what a rule allows."""
    number = _number(form.get(field), field, what)
    if number is None:
        return default
    most = TIMEOUT_CEILINGS[TIMEOUT_FIELDS[field]] / UNIT_SECONDS[unit]
    if not 0 < number <= most:
        raise BadInput(f"{what} must be more than 0 and at most {most:,g} {unit}.", field=field)
    return number


def rule_values(form: dict[str, Any]) -> dict[str, Any]:
    """The editor's fields read into a rule; timeouts are typed in minutes and hours."""
    conditions: dict[str, Any] = {}
    for key in TEXT_CONDITIONS:
        values = parse_list(str(form.get(f"cond_{key}", "")))
        if values:
            conditions[key] = values
    for key in ("value_min", "value_max"):
        number = _number(form.get(key), key, "A lead value bound")
        if number is not None:
            conditions[key] = number
    accept = _timeout(form, "accept_minutes", "The accept timeout", "minutes", 15)
    contact = _timeout(form, "contact_hours", "The contact timeout", "hours", 24)
    priority = _number(form.get("priority"), "priority", "Priority")
    return {
        "name": str(form.get("name", "")),
        "priority": int(priority) if priority is not None else 100,
        "conditions": conditions,
        "pool": {key: _many(form, name) for key, name in POOL_KEYS},
        "strategy": str(form.get("strategy", "round_robin")),
        "accept_timeout_s": max(1, round(accept * 60)),
        "contact_timeout_s": max(1, round(contact * 3600)),
        "escalate_to_rule_id": form.get("escalate_to_rule_id") or None,
        "performance_weighting": form.get("performance_weighting") == "on",
        "active": form.get("active") == "on",
    }


def form_of(rule: Rule | None) -> dict[str, Any]:
    if rule is None:
        return {"priority": "100", "accept_minutes": "15", "contact_hours": "24", "active": "on"}
    form: dict[str, Any] = {
        "name": rule.name,
        "priority": str(rule.priority),
        "strategy": rule.strategy,
        "accept_minutes": f"{rule.accept_timeout_s / 60:g}",
        "contact_hours": f"{rule.contact_timeout_s / 3600:g}",
        "escalate_to_rule_id": rule.escalate_to_rule_id or "",
        "performance_weighting": "on" if rule.performance_weighting else "",
        "active": "on" if rule.active else "",
        "value_min": _bound(rule.conditions.get("value_min")),
        "value_max": _bound(rule.conditions.get("value_max")),
    }
    for key in TEXT_CONDITIONS:
        form[f"cond_{key}"] = list_text(rule.conditions.get(key))
    for key, name in POOL_KEYS:
        form[name] = list(rule.pool.get(key) or [])
    return form


def _bound(value: Any) -> str:
    return "" if value is None else f"{value:g}"


def _placement_problem(scope: Scope, values: dict[str, Any], places: dict[str, Any]) -> None:
    if not _pool_within(scope, values["pool"], places):
        raise BadInput("The pool may name only your own teams, partners and agents.", field="pool")


async def _choices(session: AsyncSession, scope: Scope, rule: Rule | None) -> dict[str, Any]:
    agents = [
        a for a in await roster.list_agents(session) if scope.sees_agent(a.team_id, a.partner_id)
    ]
    teams = {k: v for k, v in (await roster.team_names(session)).items() if scope.sees_team(k)}
    partners = {
        k: v for k, v in (await roster.partner_names(session)).items() if scope.sees_partner(k)
    }
    others = [r for r in await visible_rules(session, scope) if rule is None or r.id != rule.id]
    return {
        "agents": agents,
        "teams": teams,
        "partners": partners,
        "escalations": others,
        "strategies": STRATEGIES,
        "conditions": TEXT_CONDITIONS,
    }


@dataclass
class PreviewView:
    """A sample lead's route, with names only for the agents the viewer may see."""

    rule_name: str | None
    agent_name: str | None
    explanation: str
    candidates: list[dict[str, Any]]


async def preview_view(
    session: AsyncSession, scope: Scope, decision: dict[str, Any]
) -> PreviewView:
    rules = {r.id: r.name for r in await visible_rules(session, scope)}
    agent_ids = [c["agent_id"] for c in decision["candidates"]]
    places = await roster.affiliations(session, [*agent_ids, decision["agent_id"] or ""])

    def name(agent_id: str | None, shown: str) -> str | None:
        if agent_id is None:
            return None
        return (
            shown
            if scope.sees_agent(*places.get(agent_id, (None, None)))
            else "another team's agent"
        )

    names = await roster.agent_names(session)
    candidates = [
        {**c, "name": name(c["agent_id"], c.get("name") or names.get(c["agent_id"], ""))}
        for c in decision["candidates"]
    ]
    rule_id = decision["rule_id"]
    return PreviewView(
        rule_name=rules.get(rule_id, "another team's rule") if rule_id else None,
        agent_name=name(decision["agent_id"], names.get(decision["agent_id"] or "", "")),
        explanation=decision.get("explanation") or "",
        candidates=candidates,
    )


class RuleEditorController(Controller):
    path = "/console/rules"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/new")
    async def new(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        choices = await _choices(db_session, scope_of(request), None)
        return _editor(request, None, form_of(None), {}, choices)

    @post("/new", status_code=200)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        scope = scope_of(request)
        try:
            values = rule_values(data)
            agent_ids = values["pool"]["agent_ids"]
            _placement_problem(scope, values, await roster.affiliations(db_session, agent_ids))
            rule = await routing.create_rule(db_session, values, actor_of(request))
        except PursuitError as exc:
            await db_session.rollback()
            choices = await _choices(db_session, scope, None)
            return _editor(request, None, data, _errors(exc), choices, 422)
        logger.info("rule created from console rule_id=%s", rule.id)
        return _saved(request, f"/console/rules/{rule.id}/edit")

    @get("/{rule_id:str}/edit")
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        rule_id: FromPath[str],
    ) -> Template:
        scope = scope_of(request)
        try:
            rule = await visible_rule(db_session, scope, rule_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        choices = await _choices(db_session, scope, rule)
        saved = request.query_params.get("saved") == "1"
        return _editor(request, rule, form_of(rule), {}, choices, saved=saved)

    @post("/{rule_id:str}/edit", status_code=200)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        rule_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        scope = scope_of(request)
        try:
            rule = await visible_rule(db_session, scope, rule_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        try:
            values = rule_values(data)
            agent_ids = values["pool"]["agent_ids"]
            _placement_problem(scope, values, await roster.affiliations(db_session, agent_ids))
            await routing.update_rule(db_session, rule_id, values, actor_of(request))
        except PursuitError as exc:
            await db_session.rollback()
            rule = await visible_rule(db_session, scope, rule_id)
            choices = await _choices(db_session, scope, rule)
            return _editor(request, rule, data, _errors(exc), choices, 422)
        return _saved(request, f"/console/rules/{rule_id}/edit")

    @post("/{rule_id:str}/move", status_code=200)
    async def move(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        rule_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        """Swap priorities with the rule above or below among those the user may see."""
        scope = scope_of(request)
        rules = await visible_rules(db_session, scope)
        index = next((i for i, r in enumerate(rules) if r.id == rule_id), None)
        if index is None:
            message = f"There is no rule {rule_id} among the rules of your teams and partners."
            return render("not_found.html", 404, user=request.session, message=message)
        step = -1 if data.get("direction") == "up" else 1
        if 0 <= index + step < len(rules):
            await _swap(db_session, rules[index], rules[index + step], step, actor_of(request))
        if is_htmx(request):
            return Response(b"", status_code=200, headers={"HX-Refresh": "true"})
        return Redirect("/console/rules", status_code=303)

    @get("/mine")
    async def mine(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        """The rules list of the manager's own teams and partners, with their health."""
        scope = scope_of(request)
        visible = {r.id for r in await visible_rules(db_session, scope)}
        health = [
            h for h in await rule_health(db_session, datetime.now(UTC)) if h.rule.id in visible
        ]
        overview = RulesOverview(health, await roster.agent_names(db_session))
        name = "_rules_table.html" if is_htmx(request) else "rules_mine.html"
        return render(
            name, user=request.session, overview=overview, conditions_text=conditions_text
        )

    @get("/try")
    async def try_form(self, request: Request[Any, Any, Any]) -> Template:
        return render("rule_try.html", user=request.session, form={}, view=None, problem=None)

    @post("/try", status_code=200)
    async def try_lead(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template:
        """Route a sample lead as now, saving nothing; the same as the API's preview."""
        view, problem = None, None
        try:
            lead = Lead(**normalize(_sample_lead(data)))
            decision = await routing.preview(db_session, lead, datetime.now(UTC))
            view = await preview_view(db_session, scope_of(request), decision)
        except PursuitError as exc:
            problem = exc.message
        name = "_rule_try.html" if is_htmx(request) else "rule_try.html"
        status = 422 if problem else 200
        return render(name, status, user=request.session, form=data, view=view, problem=problem)


def _sample_lead(form: dict[str, Any]) -> LeadIn:
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() or None for k in LEAD_FIELDS}
    values["value"] = _number(form.get("value"), "value", "The lead's value")
    # Intake wants someone to contact; a sample stands in for the person.
    return LeadIn(source=str(form.get("source") or "web"), company="Sample lead", **values)


async def _swap(session: AsyncSession, rule: Rule, other: Rule, step: int, actor: str) -> None:
    if rule.priority == other.priority:  # equal priorities go by age: make the order explicit
        low, high = rule.priority, rule.priority + 1
        mine, theirs = (low, high) if step < 0 else (high, low)
    else:
        mine, theirs = other.priority, rule.priority
    await routing.update_rule(session, other.id, {"priority": theirs}, actor)
    await routing.update_rule(session, rule.id, {"priority": mine}, actor)
    logger.info("rule moved rule_id=%s priority=%s", rule.id, mine)


def _errors(exc: PursuitError) -> dict[str, str]:
    return {str(exc.extra.get("field") or "form"): exc.message}


def _editor(
    request: Request[Any, Any, Any],
    rule: Rule | None,
    form: dict[str, Any],
    errors: dict[str, str],
    choices: dict[str, Any],
    status: int = 200,
    saved: bool = False,
) -> Template:
    name = "_rule_form.html" if is_htmx(request) else "rule_edit.html"
    return render(
        name,
        status,
        user=request.session,
        rule=rule,
        form=form,
        errors=errors,
        saved=saved,
        many=_many,
        **choices,
    )


def _saved(request: Request[Any, Any, Any], url: str) -> Response[Any]:
    if is_htmx(request):
        return Response(b"", status_code=200, headers={"HX-Redirect": f"{url}?saved=1"})
    return Redirect(f"{url}?saved=1", status_code=303)


ROUTES: list[Any] = [RuleEditorController]
