"""``pursuit crm``: connect a CRM, list and test connections, retry parked items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crm import service
from backend.crm.connectors import DEFAULT_TIMEOUT, CrmError
from backend.db import upgrade_database
from backend.settings import Settings


def _run(work: Any) -> Any:
    from backend.cli import run_with_session

    settings = Settings.from_env()
    upgrade_database(settings.database_url)
    return run_with_session(settings, lambda session: work(session, settings))


@click.group()
def crm() -> None:
    """CRM write-back connections."""


@crm.group()
def connect() -> None:
    """Connect a CRM; prints the connection id alone on the last line."""


def _connect(
    kind: str, base_url: str | None, name: str | None, sync_all: bool, **creds: Any
) -> None:
    async def work(session: AsyncSession, settings: Settings) -> Any:
        return await service.connect(
            session,
            settings.secret_key,
            kind=kind,
            name=name,
            base_url=base_url,
            credentials=creds,
            sync_all=sync_all,
        )

    connection = _run(work)
    click.echo(f"{connection.name} ({kind}) connected at {connection.base_url}:")
    click.echo(connection.id)


@connect.command("hubspot")
@click.option("--token", required=True, help="Private app access token.")
@click.option("--app-secret", default=None, help="Client secret that signs webhook requests.")
@click.option("--base-url", default=None, help="API address (default https://api.hubapi.com).")
@click.option("--name", default=None)
@click.option("--sync-all", is_flag=True, help="Write back every lead, not only HubSpot's.")
def connect_hubspot(
    token: str, app_secret: str | None, base_url: str | None, name: str | None, sync_all: bool
) -> None:
    """Connect a HubSpot portal through a private app."""
    _connect("hubspot", base_url, name, sync_all, token=token, app_secret=app_secret)


@connect.command("salesforce")
@click.option("--client-id", required=True, help="Consumer key of the connected app.")
@click.option("--client-secret", default=None, help="Consumer secret (client credentials flow).")
@click.option("--username", default=None, help="User to act as (JWT bearer flow).")
@click.option(
    "--private-key-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="PEM private key whose certificate the connected app holds (JWT bearer flow).",
)
@click.option("--org-id", default=None, help="Organization id that outbound messages carry.")
@click.option("--callout-secret", default=None, help="Shared secret of JSON callouts.")
@click.option("--base-url", default=None, help="Login address (default login.salesforce.com).")
@click.option("--name", default=None)
@click.option("--sync-all", is_flag=True, help="Write back every lead, not only Salesforce's.")
def connect_salesforce(
    client_id: str,
    client_secret: str | None,
    username: str | None,
    private_key_file: Path | None,
    org_id: str | None,
    callout_secret: str | None,
    base_url: str | None,
    name: str | None,
    sync_all: bool,
) -> None:
    """Connect a Salesforce org through a connected app."""
    key = private_key_file.read_text() if private_key_file else None
    _connect(
        "salesforce",
        base_url,
        name,
        sync_all,
        client_id=client_id,
        client_secret=client_secret,
        username=username,
        private_key=key,
        org_id=org_id,
        callout_secret=callout_secret,
    )


@crm.command("list")
def list_connections() -> None:
    """Connections with their health and outbox counts."""

    async def work(session: AsyncSession, settings: Settings) -> list[str]:
        counts = await service.outbox_counts(session)
        lines = []
        for c in await service.list_connections(session):
            pending, parked = counts.get((c.id, "pending"), 0), counts.get((c.id, "parked"), 0)
            success = c.last_success_at.isoformat() if c.last_success_at else "never"
            lines.append(
                f"{c.id}  {c.kind:<10}  {c.name}  pending={pending} parked={parked} "
                f"last_success={success}"
            )
        return lines

    lines = _run(work)
    for line in lines or ["No CRM is connected."]:
        click.echo(line)


@crm.command("test")
@click.argument("connection_id")
def test_connection(connection_id: str) -> None:
    """Sign in and read the CRM's lead status options."""

    async def work(session: AsyncSession, settings: Settings) -> str:
        connection = await service.get_connection(session, connection_id)
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            connector = service.connector_for(connection, settings.secret_key, http, pace=False)
            try:
                return await connector.check()
            except CrmError as exc:
                raise click.ClickException(exc.message) from exc

    click.echo(_run(work))


@crm.command("retry")
@click.argument("connection_id")
def retry(connection_id: str) -> None:
    """Put a connection's parked items back in line."""

    async def work(session: AsyncSession, settings: Settings) -> int:
        await service.get_connection(session, connection_id)
        return await service.retry_parked(session, connection_id=connection_id)

    click.echo(f"{_run(work)} parked items are back in line.")


__all__ = ["crm"]
