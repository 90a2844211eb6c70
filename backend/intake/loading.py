"""Submitting a batch of parsed rows through the same intake path as the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import PursuitError
from backend.intake.schemas import LeadIn
from backend.intake.service import submit_inquiry

logger = logging.getLogger(__name__)


@dataclass
class LoadReport:
    created: int = 0
    replayed: int = 0
    failed: int = 0
    offer_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def submit_rows(
    session: AsyncSession, rows: list[dict[str, Any]], inlet: str = "csv"
) -> LoadReport:
    """Each row becomes an inquiry; a bad row is counted and skipped, never half-stored."""
    report = LoadReport()
    for number, row in enumerate(rows, start=1):
        try:
            data = msgspec.convert(row, LeadIn)
            result = await submit_inquiry(session, data, inlet=inlet)
        except (PursuitError, msgspec.ValidationError) as exc:
            report.failed += 1
            label = row.get("external_id") or f"number {number}"
            report.problems.append(f"lead {label}: {exc}")
            logger.info("import row rejected row=%s error=%s", number, type(exc).__name__)
            continue
        if result.created:
            report.created += 1
            if result.offer is not None:
                report.offer_ids.append(result.offer.id)
        else:
            report.replayed += 1
    return report
