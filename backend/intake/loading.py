"""Submitting a batch of parsed rows through the same intake path as the API."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import PursuitError
from backend.intake.importer import ImportBatch, RowError
from backend.intake.inquiries import record_unrouted, take_in
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


@dataclass
class ImportReport:
    """What an import did, row by row as the file numbers them."""

    created: int = 0
    coalesced: int = 0
    replayed: int = 0
    offer_ids: list[str] = field(default_factory=list)
    failed: list[RowError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.created} leads created, {self.coalesced} joined an open lead, "
            f"{self.replayed} already known, {len(self.failed)} rejected"
        )


async def import_batch(session: AsyncSession, batch: ImportBatch, file_name: str) -> ImportReport:
    """Store every row: good ones are routed, refused ones kept as failed inquiries."""
    report = ImportReport(unmapped_columns=batch.unmapped_columns)
    for error in batch.errors:
        raw = _raw_row(batch, file_name, error.row, error.cells)
        await record_unrouted(
            session, source=_mapped(error.cells, batch, "source") or batch.default_source,
            inlet="csv", raw=raw, status="failed", reason=f"Row {error.row}: {error.message}",
            external_id=_mapped(error.cells, batch, "external_id"),
        )  # fmt: skip
        report.failed.append(error)

    for body, number, cells in zip(batch.rows, batch.row_numbers, batch.cells, strict=True):
        raw = _raw_row(batch, file_name, number, cells)
        received = await take_in(session, body, inlet="csv", raw=raw)
        if received.result is None:
            report.failed.append(RowError(number, received.problem or "was not imported."))
        elif received.result.replayed:
            report.replayed += 1
        elif received.result.coalesced:
            report.coalesced += 1
        else:
            report.created += 1
            if received.result.offer is not None:
                report.offer_ids.append(received.result.offer.id)
    report.failed.sort(key=lambda error: error.row)
    logger.info(
        "csv imported file_rows=%d created=%d failed=%d",
        len(batch.rows) + len(batch.errors), report.created, len(report.failed),
    )  # fmt: skip
    return report


def _raw_row(batch: ImportBatch, file_name: str, row: int, cells: dict[str, str]) -> dict[str, Any]:
    return {
        "kind": "csv",
        "file": file_name,
        "row": row,
        "cells": cells,
        "source": batch.default_source,
        "country": batch.default_country,
        "field_map": batch.field_map,
    }


def _mapped(cells: dict[str, str], batch: ImportBatch, field: str) -> str | None:
    """A refused row's own source or id, so a re-import of the fixed row finds it."""
    for header, key in batch.mapping:
        if key == field and cells.get(header, "").strip():
            return cells[header].strip()[:100]
    return None
