"""The console's CRM page: connections and their health, mapping, a connection test, the outbox."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from backend.console.controllers import is_htmx, render, require_user
from backend.crm import service
from backend.crm.connectors import DEFAULT_TIMEOUT, CrmError
from backend.crm.models import CrmConnection
from backend.errors import BadInput, Conflict, NotFound

logger = logging.getLogger(__name__)

PAGE = "/console/crm"


class ConnectForm(msgspec.Struct):
    kind: str = ""
    name: str = ""
    base_url: str = ""
    token: str = ""
    app_secret: str = ""
    client_id: str = ""
    client_secret: str = ""
    username: str = ""
    private_key: str = ""
    org_id: str = ""
    callout_secret: str = ""
    sync_all: str = ""


class ConfigureForm(msgspec.Struct):
    mapping: str = "{}"
    sync_all: str = ""
    active: str = ""
    # Left blank, a secret stays as stored.
    token: str = ""
    app_secret: str = ""
    client_secret: str = ""
    callout_secret: str = ""


@dataclass
class ConnectionView:
    connection: CrmConnection
    pending: int
    parked: int
    mapping_text: str
    defaults_text: str
    webhook_urls: list[tuple[str, str]]


async def _page_context(session: AsyncSession, base_url: str, **extra: Any) -> dict[str, Any]:
    counts = await service.outbox_counts(session)
    views = [
        ConnectionView(
            connection=c,
            pending=counts.get((c.id, "pending"), 0),
            parked=counts.get((c.id, "parked"), 0),
            mapping_text=json.dumps(c.mapping or {}, indent=2, sort_keys=True),
            defaults_text=json.dumps(service.DEFAULT_MAPPINGS[c.kind], indent=2),
            webhook_urls=_webhook_urls(c, base_url),
        )
        for c in await service.list_connections(session)
    ]
    names = {c.id: c.name for c in (v.connection for v in views)}
    return {
        "views": views,
        "items": await service.outbox(session),
        "inbound": await service.parked_inbound(session),
        "names": names,
        "result": None,
        "problem": None,
        "message": None,
        **extra,
    }


def _webhook_urls(connection: CrmConnection, base_url: str) -> list[tuple[str, str]]:
    root = f"{base_url}/api/v1/crm/{connection.id}"
    if connection.kind == "hubspot":
        return [("HubSpot webhook", f"{root}/hubspot/webhook")]
    return [
        ("Outbound message", f"{root}/salesforce/outbound"),
        ("JSON callout", f"{root}/salesforce/callout"),
    ]


def _credentials(data: ConnectForm) -> dict[str, Any]:
    names = ("token", "app_secret", "client_id", "client_secret", "username", "private_key")
    found = {n: getattr(data, n).strip() for n in (*names, "org_id", "callout_secret")}
    return {k: v for k, v in found.items() if v}


def _replaced_secrets(data: ConfigureForm) -> dict[str, Any]:
    names = ("token", "app_secret", "client_secret", "callout_secret")
    return {n: getattr(data, n).strip() for n in names if getattr(data, n).strip()}


class CrmConsoleController(Controller):
    path = PAGE
    include_in_schema = False
    before_request = staticmethod(require_user)

    @get("/")
    async def page(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Template:
        context = await _page_context(db_session, request.app.state.settings.base_url)
        return render("crm.html", user=request.session, **context)

    async def _again(
        self,
        request: Request[Any, Any, Any],
        session: AsyncSession,
        status: int = 200,
        **extra: Any,
    ) -> Template:
        await session.rollback()
        context = await _page_context(session, request.app.state.settings.base_url, **extra)
        name = "_crm.html" if is_htmx(request) else "crm.html"
        return render(name, status, user=request.session, **context)

    @post("/connections", status_code=200)
    async def connect(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: URLEncodedBody[ConnectForm],
    ) -> Response[Any]:
        settings = request.app.state.settings
        try:
            connection = await service.connect(
                db_session,
                settings.secret_key,
                kind=data.kind,
                name=data.name or None,
                base_url=data.base_url or None,
                credentials=_credentials(data),
                sync_all=bool(data.sync_all),
            )
        except BadInput as exc:
            return await self._again(request, db_session, 422, problem=exc.message)
        logger.info("crm connection added from console connection_id=%s", connection.id)
        message = f"{connection.name} is connected. Test it, then review its mapping."
        return await self._again(request, db_session, message=message)

    @post("/connections/{connection_id:str}", status_code=200)
    async def configure(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
        data: URLEncodedBody[ConfigureForm],
    ) -> Response[Any]:
        try:
            connection = await service.configure(
                db_session,
                request.app.state.settings.secret_key,
                connection_id,
                mapping_text=data.mapping,
                sync_all=bool(data.sync_all),
                active=bool(data.active),
                credentials=_replaced_secrets(data),
            )
        except (BadInput, NotFound) as exc:
            return await self._again(request, db_session, 422, problem=exc.message)
        return await self._again(request, db_session, message=f"{connection.name} is saved.")

    @post("/connections/{connection_id:str}/test", status_code=200)
    async def test(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
    ) -> Response[Any]:
        """Ask the CRM for its status options, as a write-back would before its first write."""
        try:
            connection = await service.get_connection(db_session, connection_id)
        except NotFound as exc:
            return await self._again(request, db_session, 404, problem=exc.message)
        async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
            try:
                connector = service.connector_for(
                    connection, request.app.state.settings.secret_key, http, pace=False
                )
                said = await connector.check()
            except (CrmError, BadInput) as exc:
                text = exc.message
                return await self._again(
                    request, db_session, 200, result=(connection.id, False, text)
                )
        return await self._again(request, db_session, result=(connection.id, True, said))

    @post("/outbox/{item_id:int}/retry", status_code=200)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        item_id: FromPath[int],
    ) -> Response[Any]:
        try:
            await service.retry_parked(db_session, item_id)
        except Conflict as exc:
            return await self._again(request, db_session, 409, problem=exc.message)
        logger.info("crm item retried from console item_id=%s", item_id)
        if not is_htmx(request):
            return Redirect(PAGE, status_code=303)
        return await self._again(request, db_session, message="The item is back in line.")

    @post("/connections/{connection_id:str}/retry", status_code=200)
    async def retry_all(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
    ) -> Response[Any]:
        count = await service.retry_parked(db_session, connection_id=connection_id)
        word = "item is" if count == 1 else "items are"
        return await self._again(request, db_session, message=f"{count} {word} back in line.")


ROUTES: list[Any] = [CrmConsoleController]
