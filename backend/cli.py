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
@click.option("--team", default=None, help="Name of the manager's team.")
def user_create(email: str, role: str, team: str | None) -> None:
    """Create or update a user and print a single-use sign-in link on the last line."""
    from backend.access.service import create_sign_in_link, create_user
    from backend.roster.service import team_by_name

    settings = Settings.from_env()
    upgrade_database(settings.database_url)

    async def work(session: AsyncSession) -> str:
        team_id = (await team_by_name(session, team)).id if team else None
        created = await create_user(session, email, role, team_id)
        return await create_sign_in_link(session, created.id)

    token = run_with_session(settings, work)
    click.echo(f"{role} {email} is ready; this sign-in link works once, within 24 hours:")
    click.echo(f"{settings.base_url}/console/sign-in/{token}")


@main.group()
def leads() -> None:
    """Leads."""


@leads.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report without storing anything.")
def leads_import(file: Path, dry_run: bool) -> None:
    """Import inquiries from a CSV file (the Olist sample format or named columns)."""
    import backend.models  # noqa: F401 - every table's listeners, the search terms' included
    from backend.intake.importer import parse_csv
    from backend.intake.loading import submit_rows

    try:
        batch = parse_csv(file)
    except PursuitError as exc:
        raise click.ClickException(exc.message) from exc
    except (UnicodeError, csv.Error) as exc:
        raise click.ClickException(f"{file} could not be read as a CSV of leads: {exc}") from exc
    for error in batch.errors:
        click.echo(f"row {error.row}: {error.message}", err=True)
    if batch.unmapped_columns:
        click.echo(f"columns not imported: {', '.join(batch.unmapped_columns)}", err=True)
    if dry_run:
        click.echo(f"{len(batch.rows)} rows would be imported, {len(batch.errors)} rejected")
        return
    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    report: Any = run_with_session(settings, lambda s: submit_rows(s, batch.rows))
    asyncio.run(announce_offers(settings, report.offer_ids))
    for problem in report.problems:
        click.echo(problem, err=True)
    click.echo(
        f"{report.created} leads created, {report.replayed} already known, "
        f"{report.failed + len(batch.errors)} rejected"
    )


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
