"""Metrics API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from backend.access.dependencies import ACTOR
from backend.access.service import Actor, require_api_key
from backend.db import as_utc
from backend.errors import BadInput
from backend.reports.service import LeadFilter, Money, summary


class MetricsController(Controller):
    path = "/api/v1/metrics"
    dependencies = ACTOR
    tags = ["metrics"]

    @get("/summary", summary="Leads, pursuit and lost revenue for a period")
    async def summary(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        actor: NamedDependency[Actor],
        since: FromQuery[datetime | None] = None,
        until: FromQuery[datetime | None] = None,
        team: FromQuery[str | None] = None,
        partner: FromQuery[str | None] = None,
        source: FromQuery[str | None] = None,
        campaign: FromQuery[str | None] = None,
        product: FromQuery[str | None] = None,
        region: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        """Each filter given narrows the period's leads to those with that value."""
        require_api_key(actor)
        if since and until and as_utc(since) >= as_utc(until):
            raise BadInput("since must be before until.")
        settings = request.app.state.settings
        money = Money(settings.currency, settings.exchange_rates)
        chosen = LeadFilter(team, partner, source, campaign, product, region)
        return (await summary(db_session, since, until, money=money, chosen=chosen)).as_dict()


ROUTES = [MetricsController]
