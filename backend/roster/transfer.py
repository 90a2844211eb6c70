"""The roster as CSV: exported for a spreadsheet, imported back with a report per line.

An import is checked whole before anything is kept: one bad line keeps the whole file out,
and a dry run reports exactly what a real import would do. Agents are matched by email,
else by name; teams and partner companies are named and must exist.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.scope import EVERYTHING, Scope
from backend.errors import BadInput, PursuitError
from backend.roster import service
from backend.roster.models import Agent
from backend.roster.text import (
    list_text,
    parse_list,
    parse_territories,
    parse_week,
    territories_text,
    week_text,
)

logger = logging.getLogger(__name__)

COLUMNS = (
    "name",
    "email",
    "phone",
    "team",
    "partner",
    "territories",
    "products",
    "languages",
    "tier",
    "capacity",
    "timezone",
    "working_hours",
    "active",
)
MAX_BYTES = 2 * 1024 * 1024
TOO_MANY = "\x00too many cells"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """Text a spreadsheet would run as a formula is quoted so it stays text."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def export_csv(session: AsyncSession, scope: Scope = EVERYTHING) -> str:
    teams, partners = await service.team_names(session), await service.partner_names(session)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for agent in await service.list_agents(session):
        if not scope.sees_agent(agent.team_id, agent.partner_id):
            continue
        writer.writerow(
            _cell(v)
            for v in (
                agent.name,
                agent.email,
                agent.phone,
                teams.get(agent.team_id or ""),
                partners.get(agent.partner_id or ""),
                territories_text(agent.territories, "; "),
                list_text(agent.products),
                list_text(agent.languages),
                agent.tier,
                agent.capacity,
                agent.timezone,
                week_text(agent.working_hours),
                "yes" if agent.active else "no",
            )
        )
    return out.getvalue()


@dataclass
class ImportReport:
    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return not self.dry_run and not self.errors

    def lines(self) -> list[str]:
        """The report as a person reads it; the last line says what happened."""
        lines = [*self.errors, *self.created, *self.updated, *self.unchanged]
        counts = (
            f"{len(self.created)} to create, {len(self.updated)} to update, "
            f"{len(self.unchanged)} unchanged, {len(self.errors)} with errors"
        )
        if self.errors:
            lines.append(f"{counts}: nothing was imported; fix the lines above and try again.")
        elif self.dry_run:
            lines.append(f"{counts}: dry run, nothing was stored.")
        else:
            lines.append(counts.replace(" to ", " ") + ": imported.")
        return lines


def _rows(content: bytes) -> list[dict[str, str]]:
    if len(content) > MAX_BYTES:
        raise BadInput("The roster file is larger than 2 MiB; split it.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput("The roster file is not UTF-8 text; save it as CSV UTF-8.") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if "name" not in header:
        raise BadInput(
            "The roster file needs a header line with at least name; "
            f"columns are {', '.join(COLUMNS)}."
        )
    unknown = sorted(set(header) - set(COLUMNS))
    if unknown:
        raise BadInput(f"Unknown column {', '.join(unknown)}; columns are {', '.join(COLUMNS)}.")
    rows = []
    for row in reader:
        extra = row.pop(None, None)
        cleaned = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if extra:
            cleaned[TOO_MANY] = "yes"  # reported on its line, with the others
        rows.append(cleaned)
    return rows


def _uncell(text: str) -> str:
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_STARTS else text


async def _values(
    session: AsyncSession, row: dict[str, str], names: dict[str, dict[str, str]]
) -> dict[str, Any]:
    if row.pop(TOO_MANY, None):
        raise BadInput("it has more cells than the header line; quote cells that hold commas")
    row = {k: _uncell(v) for k, v in row.items()}
    values: dict[str, Any] = {"name": row.get("name", "")}
    for key in ("email", "phone"):
        if key in row:
            values[key] = row[key] or None
    for key, what in (("team", "team_id"), ("partner", "partner_id")):
        if key in row:
            if row[key] and row[key] not in names[key]:
                raise BadInput(f"there is no {key} named {row[key]!r}")
            values[what] = names[key].get(row[key]) if row[key] else None
    if "territories" in row:
        values["territories"] = parse_territories(row["territories"])
    for key in ("products", "languages"):
        if key in row:
            values[key] = parse_list(row[key])
    for key in ("tier", "capacity"):
        if row.get(key):
            try:
                values[key] = int(row[key])
            except ValueError as exc:
                raise BadInput(f"{key} {row[key]!r} is not a whole number") from exc
    if row.get("timezone"):
        values["timezone"] = row["timezone"]
    if "working_hours" in row:
        values["working_hours"] = parse_week(row["working_hours"])
    if row.get("active"):
        if row["active"].lower() not in ("yes", "no", "true", "false", "1", "0"):
            raise BadInput(f"active {row['active']!r} should be yes or no")
        values["active"] = row["active"].lower() in ("yes", "true", "1")
    if values.get("partner_id"):
        values["kind"] = "partner"
    return values


async def import_csv(
    session: AsyncSession,
    content: bytes,
    dry_run: bool,
    actor: str,
    scope: Scope = EVERYTHING,
) -> ImportReport:
    report = ImportReport(dry_run=dry_run)
    try:
        rows = _rows(content)
    except BadInput as exc:
        report.errors.append(exc.message)
        return report
    names = {
        "team": {v: k for k, v in (await service.team_names(session)).items()},
        "partner": {v: k for k, v in (await service.partner_names(session)).items()},
    }
    existing = await service.list_agents(session)
    by_email = {a.email: a for a in existing if a.email}
    by_name = {a.name: a for a in existing}
    seen: dict[str, int] = {}

    for number, row in enumerate(rows, start=2):
        try:
            await _import_row(
                session, row, number, names, by_email, by_name, seen, scope, actor, report
            )
        except PursuitError as exc:
            report.errors.append(f"line {number}: {exc.message.rstrip('.')}.")

    if report.stored:
        await session.commit()
        logger.info(
            "roster imported created=%s updated=%s", len(report.created), len(report.updated)
        )
    else:
        await session.rollback()
    return report


async def _import_row(
    session: AsyncSession,
    row: dict[str, str],
    number: int,
    names: dict[str, dict[str, str]],
    by_email: dict[str, Agent],
    by_name: dict[str, Agent],
    seen: dict[str, int],
    scope: Scope,
    actor: str,
    report: ImportReport,
) -> None:
    values = await _values(session, row, names)
    key = (row.get("email") or row.get("name") or "").lower()
    if key in seen:
        raise BadInput(f"the same agent is on line {seen[key]}")
    seen[key] = number
    email = row.get("email", "").lower()
    agent = by_email.get(email) if email else by_name.get(row.get("name", ""))
    if agent is not None and not scope.sees_agent(agent.team_id, agent.partner_id):
        raise BadInput(f"{agent.name} is not in a team or partner company you manage")
    placed = (values.get("team_id"), values.get("partner_id"))
    if not scope.unlimited and agent is None and not scope.sees_agent(*placed):
        raise BadInput("name one of your teams or partner companies")
    if agent is None:
        created = await service.stage_agent(session, values, actor)
        report.created.append(f"line {number}: create {created.name}")
        return
    before = _comparable(agent)
    await service.stage_agent_changes(session, agent.id, values, actor)
    changed = sorted(k for k, v in _comparable(agent).items() if before[k] != v)
    if changed:
        report.updated.append(f"line {number}: update {agent.name} ({', '.join(changed)})")
    else:
        report.unchanged.append(f"line {number}: unchanged {agent.name}")


def _comparable(agent: Agent) -> dict[str, Any]:
    return {
        "name": agent.name,
        "email": agent.email,
        "phone": agent.phone,
        "team": agent.team_id,
        "partner": agent.partner_id,
        "territories": agent.territories,
        "products": agent.products,
        "languages": agent.languages,
        "tier": agent.tier,
        "capacity": agent.capacity,
        "timezone": agent.timezone,
        "working_hours": agent.working_hours,
        "active": agent.active,
    }
