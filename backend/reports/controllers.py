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
from backend.reports.service import Money, summary


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
    ) -> dict[str, Any]:
        require_api_key(actor)
        if since and until and as_utc(since) >= as_utc(until):
            raise BadInput("since must be before until.")
        settings = request.app.state.settings
        money = Money(settings.currency, settings.exchange_rates)
        return (await summary(db_session, since, until, money=money)).as_dict()


ROUTES = [MetricsController]
