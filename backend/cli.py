"""The ``pursuit`` command."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncSession

from backend.db import create_engine, session_factory, upgrade_database
from backend.errors import PursuitError
from backend.logging import configure_logging
from backend.settings import Settings

logger = logging.getLogger(__name__)
T = TypeVar("T")


class FileRefused(click.ClickException):
    """A file the command cannot use: one line on stderr, exit status 2 like a usage error."""

    exit_code = 2


def run_with_session(
    settings: Settings,
    work: Callable[[AsyncSession], Awaitable[T]],
    refused: tuple[type[PursuitError], ...] = (),
) -> T:
    """Run ``work`` in one session; errors in ``refused`` are the input file's fault."""

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except refused as exc:
        raise FileRefused(exc.message) from exc
    except PursuitError as exc:
        raise click.ClickException(exc.message) from exc


@click.group()
def main() -> None:
    """Pursuit: route every inquiry to a rep who pursues it, and measure what is lost."""
    configure_logging()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Apply pending migrations and serve the app."""
    settings = _served_at(Settings.from_env(), host, port)
    upgrade_database(settings.database_url)
    serve_app(settings, host, port)


def _served_at(settings: Settings, host: str, port: int) -> Settings:
    """Links point where the app is served, unless PURSUIT_BASE_URL says otherwise."""
    if os.environ.get("PURSUIT_BASE_URL"):
        return settings
    every_interface = ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound
    shown = "127.0.0.1" if host in every_interface else host
    return dataclasses.replace(settings, base_url=f"http://{shown}:{port}")


def serve_app(settings: Settings, host: str, port: int) -> None:
    import uvicorn

    from backend.app import create_app

    # Open live streams (the dashboard's) would otherwise hold a shutdown up for good.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations."""
    upgrade_database(Settings.from_env().database_url)
    click.echo("database is up to date")


@main.group("api-key")
def api_key() -> None:
    """API keys for integrations and scripts."""


@api_key.command("create")
@click.argument("name")
def api_key_create(name: str) -> None:
    """Create a key; it is printed once, alone on the last line."""
    from backend.access.service import create_api_key

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    key = run_with_session(settings, lambda s: create_api_key(s, name))
    click.echo(f"API key {name!r} created; it is shown only once:")
    click.echo(key)


@main.group()
def user() -> None:
    """Console users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(["admin", "manager"]), required=True)
@click.option("--team", "teams", multiple=True, help="A team the manager manages; repeatable.")
@click.option(
    "--partner", "partners", multiple=True, help="A partner company they manage; repeatable."
)
@click.option("--password", default=None, help="Also let them sign in with this password.")
def user_create(
    email: str, role: str, teams: tuple[str, ...], partners: tuple[str, ...], password: str | None
) -> None:
    """Create or update a user and print a single-use sign-in link on the last line."""
    from backend.access.service import create_sign_in_link, create_user
    from backend.roster.service import partner_by_name, team_by_name

    settings = Settings.from_env()
    upgrade_database(settings.database_url)

    async def work(session: AsyncSession) -> str:
        team_ids = [(await team_by_name(session, name)).id for name in teams]
        partner_ids = [(await partner_by_name(session, name)).id for name in partners]
        created = await create_user(
            session,
            email,
            role,
            password=password,
            team_ids=team_ids,
            partner_ids=partner_ids,
            actor="cli",
        )
        return await create_sign_in_link(session, created.id)

    token = run_with_session(settings, work)
    click.echo(f"{role} {email} is ready; this sign-in link works once, within 24 hours:")
    click.echo(f"{settings.base_url}/console/sign-in/{token}")


@main.group()
def roster() -> None:
    """Agents, teams and partner companies."""


@roster.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Report what would change; store nothing.")
def roster_import(file: Path, dry_run: bool) -> None:
    """Create or update agents from a CSV file; one bad line keeps the whole file out."""
    from backend.roster.transfer import import_csv

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    content = file.read_bytes()
    report: Any = run_with_session(
        settings, lambda s: import_csv(s, content, dry_run=dry_run, actor="cli")
    )
    for line in report.lines():
        click.echo(line)
    if report.errors:
        raise FileRefused(f"{file}: {len(report.errors)} lines with errors; nothing was imported.")


@roster.command("export")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not stdout."
)
def roster_export(output: Path | None) -> None:
    """The roster as CSV, in the columns ``roster import`` reads."""
    from backend.roster.transfer import export_csv

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    text: str = run_with_session(settings, export_csv)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"roster written to {output}")


@main.group()
def summary() -> None:
    """The weekly summary mail."""


@summary.command("send")
@click.option("--dry-run", is_flag=True, help="Print each summary instead of mailing it.")
def summary_send(dry_run: bool) -> None:
    """Mail last week's summary to each manager and partner coordinator who lacks it."""
    from backend.console.summary import send_all

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    now = datetime.now(UTC)
    outcomes: Any = run_with_session(settings, lambda s: send_all(s, settings, now, dry_run))
    for outcome in outcomes:
        click.echo(f"{outcome.recipient}: {outcome.status}")
        if dry_run:
            click.echo(outcome.text)
    click.echo(f"{len(outcomes)} recipients")


@main.group()
def leads() -> None:
    """Leads."""


@leads.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show the mapping and the report; store nothing.")
@click.option("--source", default=None, help="Source of rows without one (default: csv).")
@click.option("--inlet", "inlet_slug", default=None, help="A csv inlet's source and mapping.")
@click.option("--country", default=None, help="Country of rows without one, e.g. BR.")
def leads_import(
    file: Path, dry_run: bool, source: str | None, inlet_slug: str | None, country: str | None
) -> None:
    """Import inquiries from a CSV file (the Olist sample format or named columns)."""
    import backend.models  # noqa: F401 - every table's listeners, the search terms' included
    from backend.intake.importer import parse_csv
    from backend.intake.loading import import_batch

    settings = Settings.from_env()
    field_map: dict[str, str] = {}
    if inlet_slug:
        upgrade_database(settings.database_url)
        inlet = run_with_session(settings, lambda s: _csv_inlet(s, inlet_slug))
        source, field_map = source or inlet.source, inlet.field_map
        country = country or inlet.default_country
    try:
        batch = parse_csv(
            file,
            default_source=source or "csv",
            field_map=field_map,
            default_country=_country(country),
        )
    except PursuitError as exc:
        raise click.ClickException(exc.message) from exc
    except (UnicodeError, csv.Error) as exc:
        raise click.ClickException(f"{file} could not be read as a CSV of leads: {exc}") from exc
    if dry_run:
        click.echo("\n".join(import_preview(batch)))
        return
    upgrade_database(settings.database_url)
    report: Any = run_with_session(settings, lambda s: import_batch(s, batch, file.name))
    asyncio.run(announce_offers(settings, report.offer_ids))
    for error in report.failed:
        click.echo(f"row {error.row}: {error.message}", err=True)
    if report.unmapped_columns:
        click.echo(f"columns not imported: {', '.join(report.unmapped_columns)}", err=True)
    click.echo(report.summary)


def _country(code: str | None) -> str | None:
    if code is None:
        return None
    from backend.identity.service import COUNTRIES

    if len(code.strip()) != 2 or not code.strip().isalpha():
        raise click.BadParameter(f"{code!r} is not a 2-letter country code such as BR.")
    if code.strip().upper() not in COUNTRIES:
        raise click.BadParameter(f"{code!r} is not an ISO 3166 country code such as BR.")
    return code.strip().upper()


async def _csv_inlet(session: AsyncSession, slug: str) -> Any:
    from backend.intake.inlets import inlet_by_slug

    return await inlet_by_slug(session, slug, "csv")


PREVIEW_ROWS = 5


def import_preview(batch: Any) -> list[str]:
    """A dry run in words: how the file was read, the mapping, sample rows, every refusal."""
    total = len(batch.rows) + len(batch.errors)
    lines = [
        f"read as {batch.encoding}, {batch.delimiter_name}-separated, {total} rows",
        "columns:",
        *(
            f"  {header or '(no header)'} -> {key or 'not imported'}"
            for header, key in batch.mapping
        ),
        f"first rows as they would be stored (of {len(batch.rows)}):",
        *(
            f"  row {number}: {json.dumps(body, ensure_ascii=False)}"
            for number, body in zip(batch.row_numbers[:PREVIEW_ROWS], batch.rows, strict=False)
        ),
    ]
    if batch.errors:
        lines += ["rows that would fail:", *(f"  row {e.row}: {e.message}" for e in batch.errors)]
    if batch.unmapped_columns:
        lines.append(f"columns not imported: {', '.join(batch.unmapped_columns)}")
    lines.append(
        f"{len(batch.rows)} rows would be imported, {len(batch.errors)} rejected; "
        "nothing was stored"
    )
    return lines


@main.group()
def inlet() -> None:
    """Web forms, mailboxes and CSV files that inquiries come in by."""


@inlet.command("create")
@click.option("--kind", type=click.Choice(["form", "email", "csv"]), required=True)
@click.option("--slug", required=True, help="Its address: /f/SLUG, or SLUG@ the SMTP inlet.")
@click.option("--source", required=True, help="Source name its inquiries carry.")
@click.option("--name", default=None, help="Title shown on the form (default: the slug).")
@click.option("--map", "mappings", multiple=True, help="FIELD=LEAD_FIELD, repeatable.")
@click.option("--country", default=None, help="Default country for phone numbers, e.g. BR.")
@click.option("--thank-you-url", default=None, help="Where a form sends visitors afterwards.")
def inlet_create(
    kind: str,
    slug: str,
    source: str,
    name: str | None,
    mappings: tuple[str, ...],
    country: str | None,
    thank_you_url: str | None,
) -> None:
    """Create an inlet; prints where it receives inquiries."""
    from backend.intake.inlets import create_inlet

    field_map = {}
    for item in mappings:
        field, sep, target = item.partition("=")
        if not sep or not field.strip():
            raise click.BadParameter(
                f"{item!r} must look like your-email=email.", param_hint="--map"
            )
        field_map[field.strip()] = target.strip()
    body = {
        "kind": kind, "slug": slug, "source": source, "name": name, "field_map": field_map,
        "default_country": country, "thank_you_url": thank_you_url,
    }  # fmt: skip
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    created = run_with_session(settings, lambda s: create_inlet(s, body))
    where = {
        "form": f"{settings.base_url}/f/{created.slug}",
        "email": f"mail to {created.slug}@ the SMTP inlet (PURSUIT_SMTP_INLET_PORT)",
        "csv": f"pursuit leads import FILE --inlet {created.slug}",
    }[created.kind]
    click.echo(f"{created.kind} inlet {created.slug!r} created; it receives inquiries at:")
    click.echo(where)


@inlet.command("list")
def inlet_list() -> None:
    """Every inlet: slug, kind, source and whether it is open."""
    from backend.intake.inlets import list_inlets

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    found = run_with_session(settings, list_inlets)
    rows = [[i.slug, i.kind, i.source, "open" if i.active else "closed", i.name] for i in found]
    click.echo("\n".join(text_table(["Slug", "Kind", "Source", "State", "Name"], rows)))


@main.command()
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First day, UTC.")
@click.option("--until", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last day, UTC.")
@click.option(
    "--rules",
    "rules_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file of proposed rules and roster changes.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def replay(since: datetime, until: datetime, rules_file: Path, as_json: bool) -> None:
    """Replay the leads of a period through proposed rules and roster; nothing is saved."""
    from backend.routing.replay import BadProposal, parse_proposal
    from backend.routing.replay import replay as run_replay

    if until.year >= datetime.max.year:
        raise click.BadParameter(f"--until must be before {datetime.max.year}.")
    start, end = since.replace(tzinfo=UTC), until.replace(tzinfo=UTC) + timedelta(days=1)
    if end <= start:
        raise click.BadParameter("--until must not be before --since.")
    try:
        proposal = parse_proposal(rules_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeError) as exc:
        raise FileRefused(f"{rules_file} could not be read: {exc}") from exc
    except BadProposal as exc:
        raise FileRefused(f"{rules_file.name}: {exc.message}") from exc
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    report = run_with_session(
        settings, lambda s: run_replay(s, proposal, start, end), refused=(BadProposal,)
    )
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        click.echo("\n".join(replay_lines(report)))


def replay_lines(report: Any) -> list[str]:
    """The replay as plain-text tables: proposed rules, then agents, then unassigned."""
    last_day = (report.end - timedelta(days=1)).date()
    rules = [[r.name, r.priority, r.strategy, r.leads] for r in report.rules]
    agents = [
        [a.name, a.proposed_offered, a.proposed_owned, a.actual_offered, a.actual_owned]
        for a in report.agents
    ]
    return [
        f"{report.leads} leads received {report.start.date()} to {last_day} (UTC) replayed; "
        "nothing was saved.",
        "",
        *text_table(["Rule", "Priority", "Strategy", "Leads"], rules),
        "",
        *text_table(
            ["Agent", "Proposed offered", "Proposed owned", "Actual offered", "Actual owned"],
            agents,
        ),
        "",
        *text_table(
            ["", "Proposed", "Actual"],
            [["Unassigned", report.unassigned_proposed, report.unassigned_actual]],
        ),
    ]


def text_table(
    headers: list[str], rows: list[list[Any]], right: list[bool] | None = None
) -> list[str]:
    """Columns padded to their widest cell; numbers (or columns ``right`` marks) to the right."""
    cells = [headers, *[[str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = right or [
        bool(rows) and all(isinstance(row[i], int) for row in rows) for i in range(len(headers))
    ]

    def line(row: list[str]) -> str:
        padded = [
            c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)
        ]
        return "  ".join(padded).rstrip()

    return [line(row) for row in cells]


SIMULATED_FIGURES = (
    "lrl",
    "lost_revenue",
    "pursuit_rate",
    "accept_time_p50_s",
    "contact_time_p50_s",
    "won_revenue",
    "partner_share",
)


@main.command()
@click.option(
    "--agents-model",
    "agents_model",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Agents-model JSON file (default: the bundled scenario).",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Seed of leads and answers.")
@click.option("--olist", is_flag=True, help="Replay the bundled Olist funnel sample instead.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def simulate(agents_model: Path | None, seed: int, olist: bool, as_json: bool) -> None:
    """Run one lead stream through round_robin, least_loaded and score, with the same seeds.

    Nothing is read from or written to the database.
    """
    from backend.scoring import simulation

    if olist and agents_model is not None:
        raise click.UsageError("--olist replays the Olist sample; it takes no --agents-model.")
    if olist:
        from backend.scoring.olist import olist_scenario

        scenario = olist_scenario()
    else:
        try:
            scenario = simulation.load_scenario(
                agents_model or simulation.SCENARIOS_DIR / "default.json"
            )
        except ValueError as exc:
            raise FileRefused(str(exc).splitlines()[0]) from exc
    results = simulation.simulate(scenario, seed)
    if as_json:
        figures = {
            strategy: {name: getattr(result, name) for name in SIMULATED_FIGURES}
            for strategy, result in results.items()
        }
        click.echo(json.dumps(figures, indent=2))
    else:
        click.echo("\n".join(simulation_lines(scenario.name, seed, results)))


def simulation_lines(name: str, seed: int, results: dict[str, Any]) -> list[str]:
    """One row per strategy; times are medians from each lead's arrival."""
    leads = next(iter(results.values())).leads
    rows = [
        [
            strategy,
            f"{r.lrl:,.2f}",
            f"{r.lost_revenue:,.0f}",
            f"{r.pursuit_rate:.1%}",
            _duration(r.accept_time_p50_s),
            _duration(r.contact_time_p50_s),
            f"{r.won_revenue:,.0f}",
            ", ".join(f"{p} {v:.2f}" for p, v in r.partner_share.items()) or "-",
        ]
        for strategy, r in results.items()
    ]
    headers = [
        "Strategy",
        "LRL",
        "Lost revenue",
        "Pursued",
        "Accept p50",
        "Contact p50",
        "Won revenue",
        "Partner share / fair",
    ]
    return [
        f"Scenario {name!r}: {leads} leads, seed {seed}, through each strategy; nothing was saved.",
        "",
        *text_table(headers, rows, [False, *[True] * 6, False]),
    ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--build-only", is_flag=True, help="Build the demo database and exit.")
def demo(host: str, port: int, seed: int, build_only: bool) -> None:
    """Build a fresh demo database from the bundled Olist sample and serve it."""
    from backend.demo import build_demo

    if not build_only:
        ensure_port_free(host, port)
    settings = Settings.from_env()
    settings = (
        Settings.from_env(database_url=f"sqlite+aiosqlite:///{settings.var_dir / 'demo.db'}")
        if not _database_configured()
        else settings
    )
    settings = _served_at(settings, host, port)
    try:
        report = build_demo(settings, seed=seed)
    except PursuitError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(report)
    if not build_only:
        serve_app(settings, host, port)


async def announce_offers(settings: Settings, offer_ids: list[str]) -> None:
    """Tell the agents about offers made outside the server, as the server would."""
    from backend.notify.service import Notifier

    engine = create_engine(settings.database_url)
    notifier = Notifier(settings, session_factory(engine))
    await notifier.start()
    try:
        for offer_id in offer_ids:
            await notifier.notify_offer(offer_id)
    finally:
        await notifier.close()
        await engine.dispose()


def ensure_port_free(host: str, port: int) -> None:
    """Refuse before touching the demo database when something already serves on the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"{host}:{port} is already in use (is the demo running already?). Stop it, or "
                "pass --port, before building a new demo."
            ) from exc


def _database_configured() -> bool:
    import os

    return bool(os.environ.get("PURSUIT_DATABASE_URL"))


def _add_crm_commands() -> None:
    from backend.crm.cli import crm

    main.add_command(crm)


_add_crm_commands()
