"""CRM deliveries in: HubSpot webhooks, Salesforce outbound messages and JSON callouts.

Each delivery is stored before it is answered and acted on by the CRM worker afterwards,
so a slow CRM never holds up the sender and nothing acknowledged is lost.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from backend.crm import inbound, service
from backend.errors import BadInput, Forbidden, NotAuthenticated

logger = logging.getLogger(__name__)


async def _connection(session: AsyncSession, connection_id: str, kind: str) -> Any:
    connection = await service.get_connection(session, connection_id)
    if connection.kind != kind:
        raise BadInput(f"Connection {connection_id} is a {connection.kind} connection.")
    return connection


class CrmWebhookController(Controller):
    path = "/api/v1/crm"
    tags = ["crm"]
    security = [{}]

    @post("/{connection_id:str}/hubspot/webhook", summary="Receive HubSpot webhook events")
    async def hubspot(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
    ) -> Response[Any]:
        connection = await _connection(db_session, connection_id, "hubspot")
        secret = service.credentials_of(connection, request.app.state.settings.secret_key)
        if not secret.get("app_secret"):
            raise NotAuthenticated("This connection has no app secret to check HubSpot signatures.")
        body = await request.body()
        inbound.check_hubspot_signature(
            str(secret["app_secret"]),
            request.method,
            _called_uri(request),
            body,
            request.headers.get("x-hubspot-signature-v3"),
            request.headers.get("x-hubspot-request-timestamp"),
            int(time.time() * 1000),
        )
        stored = await service.store_inbound(
            db_session, connection.id, inbound.hubspot_deliveries(body)
        )
        return Response({"stored": stored}, status_code=200)

    @post(
        "/{connection_id:str}/salesforce/outbound",
        summary="Receive a Salesforce outbound message (SOAP)",
        media_type="text/xml",
    )
    async def salesforce_outbound(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
    ) -> Response[str]:
        connection = await _connection(db_session, connection_id, "salesforce")
        expected = service.credentials_of(connection, request.app.state.settings.secret_key)
        org, deliveries = inbound.outbound_message(await request.body())
        if not inbound.same_org(str(expected.get("org_id") or ""), org):
            raise Forbidden("This outbound message comes from another Salesforce organization.")
        await service.store_inbound(db_session, connection.id, deliveries)
        # Salesforce keeps resending until it reads this acknowledgement; a bare 200 is not one.
        return Response(inbound.ACK, media_type="text/xml", status_code=200)

    @post("/{connection_id:str}/salesforce/callout", summary="Receive a Salesforce JSON callout")
    async def salesforce_callout(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        connection_id: FromPath[str],
    ) -> Response[Any]:
        connection = await _connection(db_session, connection_id, "salesforce")
        expected = service.credentials_of(connection, request.app.state.settings.secret_key)
        given = request.headers.get("x-pursuit-secret", "")
        secret = str(expected.get("callout_secret") or "")
        if not secret or not hmac.compare_digest(secret, given):
            raise NotAuthenticated("The X-Pursuit-Secret header does not match this connection.")
        try:
            body = json.loads(await request.body())
        except ValueError as exc:
            raise BadInput("The callout body is not JSON.") from exc
        stored = await service.store_inbound(
            db_session, connection.id, inbound.callout_deliveries(body)
        )
        return Response({"stored": stored}, status_code=200, media_type=MediaType.JSON)


def _called_uri(request: Request[Any, Any, Any]) -> str:
    """The URL HubSpot called: the server's public base URL, this path and query."""
    base = request.app.state.settings.base_url
    query = request.url.query
    return f"{base}{request.url.path}" + (f"?{query}" if query else "")


ROUTES: list[Any] = [CrmWebhookController]
