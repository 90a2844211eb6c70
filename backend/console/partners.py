"""Partner self-service: a coordinator's capability link to a console for their company only.

The link is a long random token stored hashed, revocable, with the expiry the manager chose.
Opening it shows the company's reps, leads and share of offers; only button presses change
anything. Managers of the partner create and revoke links on the partner's console page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access import service as access
from backend.access.audit import record_change, snapshot
from backend.access.models import PartnerLink
from backend.console.controllers import render, require_user
from backend.console.guard import actor_of, is_admin, scope_of
from backend.console.roster import _back_on, _share, form_of
from backend.errors import Forbidden, NotAuthenticated, NotFound, PursuitError
from backend.reports.scoped import partner_offers, recent_leads
from backend.roster import service as roster
from backend.roster.models import Agent, Partner
from backend.roster.text import day_text, parse_day, parse_list
from backend.routing.eligibility import WEEKDAYS

logger = logging.getLogger(__name__)

SHARE_WINDOW = timedelta(days=30)
EXPIRY_DAYS = (7, 30, 90, 365)


@dataclass(frozen=True)
class Share:
    """The partner's part of all offers to partner reps, against its fair-share target."""

    offers: int
    all_partner_offers: int
    target: float

    @property
    def actual(self) -> float:
        return self.offers / self.all_partner_offers if self.all_partner_offers else 0.0


async def partner_share(session: AsyncSession, partner: Partner, now: datetime) -> Share:
    counts = await partner_offers(session, now - SHARE_WINDOW, now)
    partners = [p for p in await roster.list_partners(session) if p.active]
    weights = sum(p.fair_share for p in partners) or partner.fair_share
    return Share(counts.get(partner.id, 0), sum(counts.values()), partner.fair_share / weights)


async def _reps(session: AsyncSession, partner_id: str) -> list[Agent]:
    return [a for a in await roster.list_agents(session) if a.partner_id == partner_id]


def rep_values(form: dict[str, Any], partial: bool) -> dict[str, Any]:
    """A coordinator's rep form: who, languages, hours, time away and whether active."""
    zone = (form.get("timezone") or "UTC").strip()
    values: dict[str, Any] = {"timezone": zone, "active": form.get("active") == "on"}
    if not partial:
        values.update(
            name=form.get("name", ""),
            email=form.get("email") or None,
            phone=form.get("phone") or None,
            languages=[c.lower() for c in parse_list(form.get("languages", ""))],
        )
    hours = {day: parse_day(day, form.get(f"hours_{day}", "")) for day in WEEKDAYS}
    values["working_hours"] = {d: spans for d, spans in hours.items() if spans} or None
    values["out_of_office_until"] = _back_on(form.get("back_on", ""), zone)
    return values


class PartnerSelfService(Controller):
    path = "/p"
    include_in_schema = False

    @get("/{token:str}")
    async def home(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Template:
        try:
            link = await access.partner_for_link(db_session, token)
        except NotAuthenticated as exc:
            return render("partner_gone.html", 401, message=exc.message)
        return await _home(db_session, token, link)

    @post("/{token:str}/reps", status_code=200)
    async def add_rep(
        self,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        try:
            link = await access.partner_for_link(db_session, token)
        except NotAuthenticated as exc:
            return render("partner_gone.html", 401, message=exc.message)
        try:
            values = {**rep_values(data, partial=False), "partner_id": link.partner_id}
            values["kind"] = "partner"
            await roster.create_agent(db_session, values, f"partner_link:{link.id}")
        except PursuitError as exc:
            await db_session.rollback()
            errors = {"new": exc.message}
            return await _home(db_session, token, link, errors, data, 422)
        return Redirect(f"/p/{token}", status_code=303)

    @post("/{token:str}/reps/{agent_id:str}", status_code=200)
    async def change_rep(
        self,
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
        agent_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        try:
            link = await access.partner_for_link(db_session, token)
        except NotAuthenticated as exc:
            return render("partner_gone.html", 401, message=exc.message)
        agent = await db_session.get(Agent, agent_id)
        if agent is None or agent.partner_id != link.partner_id:
            message = "That rep is not one of your company's."
            return render("partner_gone.html", 404, message=message)
        try:
            values = rep_values(data, partial=True)
            await roster.update_agent(db_session, agent_id, values, f"partner_link:{link.id}")
        except PursuitError as exc:
            await db_session.rollback()
            return await _home(db_session, token, link, {agent_id: exc.message}, None, 422)
        return Redirect(f"/p/{token}#rep-{agent_id}", status_code=303)


async def _home(
    session: AsyncSession,
    token: str,
    link: PartnerLink,
    errors: dict[str, str] | None = None,
    new: dict[str, Any] | None = None,
    status: int = 200,
) -> Template:
    partner = await roster.get_partner(session, link.partner_id)
    reps = await _reps(session, partner.id)
    now = datetime.now(UTC)
    return render(
        "partner_home.html",
        status,
        token=token,
        partner=partner,
        reps=reps,
        forms={rep.id: form_of(rep) for rep in reps},
        leads=await recent_leads(session, [r.id for r in reps]),
        names={r.id: r.name for r in reps},
        share=await partner_share(session, partner, now),
        errors=errors or {},
        new=new or {"timezone": "UTC", "active": "on"},
        weekdays=WEEKDAYS,
        day_text=day_text,
        expires_at=link.expires_at,
        now=now,
    )


class PartnerAdminController(Controller):
    """A partner company's page for the managers who manage it: reps, share, links."""

    path = "/console/partners"
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/{partner_id:str}")
    async def partner(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        partner_id: FromPath[str],
    ) -> Template:
        try:
            return await _partner_page(request, db_session, partner_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)

    @post("/{partner_id:str}", status_code=200)
    async def change(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        partner_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        """An admin renames a partner, sets its fair share, or stops offering it leads."""
        if not is_admin(request):
            raise Forbidden("Only an admin can change a partner company.")
        try:
            changes = {
                "name": data.get("name", ""),
                "fair_share": _share(data.get("fair_share", "")),
                "active": data.get("active") == "on",
            }
            await roster.update_partner(db_session, partner_id, changes, actor_of(request))
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        except PursuitError as exc:
            return await _partner_page(
                request, db_session, partner_id, problem=exc.message, status=422
            )
        return Redirect(f"/console/partners/{partner_id}", status_code=303)

    @post("/{partner_id:str}/links", status_code=200)
    async def create_link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        partner_id: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Template:
        """The new link is shown once, on the page this answers with."""
        try:
            await _visible_partner(request, db_session, partner_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        try:
            days = int(data.get("days", "30"))
            if days not in EXPIRY_DAYS:
                raise ValueError(days)
        except ValueError:
            problem = f"Choose an expiry of {', '.join(map(str, EXPIRY_DAYS))} days."
            return await _partner_page(request, db_session, partner_id, problem=problem, status=422)
        email = (data.get("email") or "").strip() or None
        if email and "@" not in email:
            problem = "The coordinator's email does not look like an email address."
            return await _partner_page(request, db_session, partner_id, problem=problem, status=422)
        actor = actor_of(request)
        token, link = await access.create_partner_link(
            db_session, partner_id, actor, timedelta(days=days), email
        )
        await record_change(
            db_session, actor, "partner_link", link.id, "create", None, snapshot(link)
        )
        await db_session.commit()
        url = f"{request.app.state.settings.base_url}/p/{token}"
        return await _partner_page(request, db_session, partner_id, new_url=url)

    @post("/{partner_id:str}/links/{link_id:str}/revoke")
    async def revoke_link(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        partner_id: FromPath[str],
        link_id: FromPath[str],
    ) -> Response[Any]:
        try:
            await _visible_partner(request, db_session, partner_id)
            link = await db_session.get(PartnerLink, link_id)
            before = snapshot(link) if link else None
            link = await access.revoke_partner_link(db_session, partner_id, link_id)
        except NotFound as exc:
            return render("not_found.html", 404, user=request.session, message=exc.message)
        actor = actor_of(request)
        await record_change(
            db_session, actor, "partner_link", link.id, "revoke", before, snapshot(link)
        )
        await db_session.commit()
        return Redirect(f"/console/partners/{partner_id}", status_code=303)


async def _visible_partner(
    request: Request[Any, Any, Any], session: AsyncSession, partner_id: str
) -> Partner:
    partner = await session.get(Partner, partner_id)
    if partner is None or not scope_of(request).sees_partner(partner_id):
        raise NotFound(f"There is no partner {partner_id} among the partners you manage.")
    return partner


async def _partner_page(
    request: Request[Any, Any, Any],
    session: AsyncSession,
    partner_id: str,
    new_url: str | None = None,
    problem: str | None = None,
    status: int = 200,
) -> Template:
    partner = await _visible_partner(request, session, partner_id)
    now = datetime.now(UTC)
    return render(
        "partner.html",
        status,
        user=request.session,
        partner=partner,
        reps=await _reps(session, partner_id),
        share=await partner_share(session, partner, now),
        links=await access.partner_links(session, partner_id),
        new_url=new_url,
        problem=problem,
        expiry_days=EXPIRY_DAYS,
        now=now,
        admin=is_admin(request),
    )


ROUTES: list[Any] = [PartnerSelfService, PartnerAdminController]
