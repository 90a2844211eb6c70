"""The audit log in the console: filter by entity, who and period; export what is shown as CSV.

A manager sees their own changes and changes to the agents, rules, teams and partners
they manage; an admin sees every entry.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access import audit
from backend.access.models import AuditEntry
from backend.console.controllers import render, require_user
from backend.console.guard import actor_of, scope_of
from backend.console.rules import visible_rules
from backend.errors import BadInput
from backend.roster import service as roster


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{name} must be a date such as 2026-12-01.", field=name) from exc


async def _visible(
    session: AsyncSession, request: Request[Any, Any, Any], rows: list[AuditEntry]
) -> list[AuditEntry]:
    scope = scope_of(request)
    if scope.unlimited:
        return rows
    agents = {
        a.id for a in await roster.list_agents(session) if scope.sees_agent(a.team_id, a.partner_id)
    }
    rules = {r.id for r in await visible_rules(session, scope)}
    me = actor_of(request)

    def shown(row: AuditEntry) -> bool:
        return (
            row.actor == me
            or (row.entity == "agent" and row.entity_id in agents)
            or (row.entity == "rule" and row.entity_id in rules)
            or (row.entity == "team" and scope.sees_team(row.entity_id))
            or (row.entity in ("partner", "partner_link") and scope.sees_partner(row.entity_id))
        )

    return [row for row in rows if shown(row)]


async def _entries(
    session: AsyncSession,
    request: Request[Any, Any, Any],
    chosen: audit.AuditFilter,
    limit: int | None,
) -> list[AuditEntry]:
    rows = await _visible(session, request, await audit.entries(session, chosen, limit=None))
    return rows if limit is None else rows[:limit]


def _filter(
    entity: str | None, who: str | None, since: str | None, until: str | None, entity_id: str | None
) -> audit.AuditFilter:
    return audit.AuditFilter(
        entity=entity or None,
        entity_id=entity_id or None,
        actor=(who or "").strip() or None,
        since=_day(since, "since"),
        until=_day(until, "until"),
    )


class AuditController(Controller):
    path = "/console"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/audit")
    async def audit_log(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        entity: FromQuery[str | None] = None,
        who: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
    ) -> Template:
        query = {
            "entity": entity,
            "who": who,
            "since": since,
            "until": until,
            "entity_id": entity_id,
        }
        try:
            chosen = _filter(entity, who, since, until, entity_id)
            rows, problem = await _entries(db_session, request, chosen, audit.PAGE_SIZE), None
        except BadInput as exc:
            rows, problem = [], exc.message
        return render(
            "audit.html",
            422 if problem else 200,
            user=request.session,
            rows=rows,
            query={k: v or "" for k, v in query.items()},
            entities=audit.ENTITIES,
            problem=problem,
            csv_query="&".join(f"{k}={v}" for k, v in query.items() if v),
        )

    @get("/audit.csv")
    async def audit_csv(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        entity: FromQuery[str | None] = None,
        who: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        until: FromQuery[str | None] = None,
        entity_id: FromQuery[str | None] = None,
    ) -> Response[str]:
        chosen = _filter(entity, who, since, until, entity_id)
        rows = await _entries(db_session, request, chosen, None)
        headers = {"Content-Disposition": 'attachment; filename="audit.csv"'}
        return Response(audit.as_csv(rows), media_type="text/csv; charset=utf-8", headers=headers)


ROUTES: list[Any] = [AuditController]
