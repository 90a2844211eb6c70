"""HubSpot and Salesforce as far as Pursuit uses them, on loopback, with their published shapes.

Both keep their records in memory, log every request, and can be told to answer the next
matching requests with a given failure (``fail``) or to apply a write and then never answer
(``hang``), as a CRM does when the caller is killed mid-request.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

BODY = web.RequestKey("body", object)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Failure:
    method: str
    path: str  # a regular expression matched against the whole path
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


class FakeService:
    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.failures: list[Failure] = []
        self.hang_on: tuple[str, str] | None = None
        self.hung = asyncio.Event()
        self.released = asyncio.Event()
        self.origin = ""
        self._runner: web.AppRunner | None = None
        self._ids = itertools.count(1001)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self.origin = f"http://{host}:{port}"

    async def close(self) -> None:
        self.released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail(
        self, method: str, path: str, status: int, body: Any, times: int = 1, **headers: str
    ) -> None:
        self.failures.append(Failure(method, path, status, body, headers, times))

    def calls(self, method: str, pattern: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and re.search(pattern, s.path)]

    def next_id(self, prefix: str = "") -> str:
        return f"{prefix}{next(self._ids)}"

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        body: Any = raw.decode() if raw else None
        if request.content_type == "application/json" and raw:
            body = json.loads(raw)
        elif request.content_type == "application/x-www-form-urlencoded":
            body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.seen.append(Seen(request.method, request.path_qs, headers, body))
        request[BODY] = body
        for failure in self.failures:
            if (
                failure.times
                and failure.method == request.method
                and re.fullmatch(failure.path, request.path)
            ):
                failure.times -= 1
                return web.json_response(
                    failure.body, status=failure.status, headers=failure.headers
                )
        response = await handler(request)
        if (
            self.hang_on
            and self.hang_on[0] == request.method
            and re.fullmatch(self.hang_on[1], request.path)
        ):
            self.hang_on = None
            self.hung.set()
            await self.released.wait()  # the write is applied; the answer comes too late
        return response


def hubspot_error(status: int, message: str, category: str) -> web.Response:
    body = {"status": "error", "message": message, "correlationId": "c0ffee", "category": category}
    return web.json_response(body, status=status)


STOCK_LEAD_STATUS = [
    ("New", "NEW"),
    ("Open", "OPEN"),
    ("In Progress", "IN_PROGRESS"),
    ("Open Deal", "OPEN_DEAL"),
    ("Unqualified", "UNQUALIFIED"),
    ("Attempted to Contact", "ATTEMPTED_TO_CONTACT"),
    ("Connected", "CONNECTED"),
    ("Bad Timing", "BAD_TIMING"),
]


class FakeHubSpot(FakeService):
    """CRM v3 objects API: contacts, notes, properties, search (which lags) and batch read."""

    def __init__(
        self,
        token: str = "pat-test",  # noqa: S107 - the fake portal's own token
        options: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__()
        self.token = token
        self.options = options or STOCK_LEAD_STATUS
        self.contacts: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, dict[str, Any]] = {}
        self.indexed: set[str] = set()  # what search can see: it lags behind writes

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/crm/v3/properties/contacts/{name}", self.property)
        app.router.add_post("/crm/v3/objects/contacts/search", self.search)
        app.router.add_post("/crm/v3/objects/contacts/batch/read", self.batch_read)
        app.router.add_get("/crm/v3/objects/contacts/{id}", self.read)
        app.router.add_patch("/crm/v3/objects/contacts/{id}", self.update)
        app.router.add_post("/crm/v3/objects/contacts", self.create)
        app.router.add_post("/crm/v3/objects/notes", self.create_note)
        app.router.add_patch("/crm/v3/objects/notes/{id}", self.update_note)

    def add_contact(self, **properties: str) -> str:
        contact_id = self.next_id()
        self.contacts[contact_id] = dict(properties)
        return contact_id

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _denied(self) -> web.Response:
        return hubspot_error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")

    def _object(self, contact_id: str) -> dict[str, Any]:
        return {
            "id": contact_id,
            "properties": {"hs_object_id": contact_id, **self.contacts[contact_id]},
            "createdAt": "2026-12-01T10:00:00.000Z",
            "updatedAt": "2026-12-01T10:00:00.000Z",
            "archived": False,
        }

    async def property(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        if request.match_info["name"] != "hs_lead_status":
            return hubspot_error(404, "Unable to find property", "OBJECT_NOT_FOUND")
        options = [
            {"label": label, "value": value, "displayOrder": i, "hidden": False}
            for i, (label, value) in enumerate(self.options)
        ]
        return web.json_response(
            {
                "name": "hs_lead_status",
                "label": "Lead Status",
                "type": "enumeration",
                "fieldType": "radio",
                "groupName": "sales_properties",
                "options": options,
            }
        )

    def _find(self, request: web.Request) -> str | None:
        key = request.match_info["id"]
        if request.query.get("idProperty") == "email":
            return next((i for i, c in self.contacts.items() if c.get("email") == key), None)
        return key if key in self.contacts else None

    async def read(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        found = self._find(request)
        if found is None:
            return hubspot_error(404, "Object not found.", "OBJECT_NOT_FOUND")
        return web.json_response(self._object(found))

    def _invalid(self, properties: dict[str, Any]) -> web.Response | None:
        value = properties.get("hs_lead_status")
        if value is not None and value not in {v for _, v in self.options}:
            detail = [
                {
                    "isValid": False,
                    "message": f"{value} was not one of the allowed options",
                    "error": "INVALID_OPTION",
                    "name": "hs_lead_status",
                }
            ]
            return hubspot_error(
                400, f"Property values were not valid: {json.dumps(detail)}", "VALIDATION_ERROR"
            )
        return None

    async def update(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        found = self._find(request)
        if found is None:
            return hubspot_error(404, "Object not found.", "OBJECT_NOT_FOUND")
        properties = request[BODY]["properties"]
        if refused := self._invalid(properties):
            return refused
        self.contacts[found].update(properties)
        return web.json_response(self._object(found))

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        properties = request[BODY]["properties"]
        email = properties.get("email")
        existing = next(
            (i for i, c in self.contacts.items() if email and c.get("email") == email), None
        )
        if existing:
            return hubspot_error(
                409, f"Contact already exists. Existing ID: {existing}", "CONFLICT"
            )
        return web.json_response(self._object(self.add_contact(**properties)), status=201)

    async def search(self, request: web.Request) -> web.Response:
        wanted = request[BODY]["filterGroups"][0]["filters"][0]["value"]
        found = [self._object(i) for i in self.indexed if self.contacts[i].get("email") == wanted]
        return web.json_response({"total": len(found), "results": found})

    async def batch_read(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        ids = [i["id"] for i in request[BODY]["inputs"]]
        results = [self._object(i) for i in ids if i in self.contacts]
        return web.json_response(
            {
                "status": "COMPLETE",
                "results": results,
                "startedAt": "2026-12-01T10:00:00Z",
                "completedAt": "2026-12-01T10:00:01Z",
            }
        )

    async def create_note(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        note_id = self.next_id()
        self.notes[note_id] = request[BODY]
        return web.json_response(
            {"id": note_id, "properties": request[BODY]["properties"]}, status=201
        )

    async def update_note(self, request: web.Request) -> web.Response:
        note_id = request.match_info["id"]
        if note_id not in self.notes:
            return hubspot_error(404, "Object not found.", "OBJECT_NOT_FOUND")
        self.notes[note_id]["properties"].update(request[BODY]["properties"])
        return web.json_response({"id": note_id, "properties": self.notes[note_id]["properties"]})


# Salesforce


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> web.Response:
    return web.json_response(
        [{"message": message, "errorCode": code, "fields": fields or []}], status=status
    )


ORG_STATUSES = [
    # (value, converted): an org whose statuses are not the stock ones.
    ("Nuevo", False),
    ("Trabajando", False),
    ("Calificado", True),
    ("Cerrado - Sin convertir", False),
]
API = "/services/data/v60.0"


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class FakeSalesforce(FakeService):
    """OAuth 2.0 token endpoint, Lead describe, SOQL for the queries Pursuit sends, sObjects."""

    def __init__(
        self,
        client_id: str = "3MVG9-test",
        client_secret: str = "sf-secret",  # noqa: S107 - the fake org's own secret
        statuses: list[tuple[str, bool]] | None = None,
    ) -> None:
        super().__init__()
        self.client_id, self.client_secret = client_id, client_secret
        self.public_key: rsa.RSAPublicKey | None = None
        self.statuses = statuses or ORG_STATUSES
        self.token = "00Dtoken!" + "x" * 8
        self.leads: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.assignment_owner: str | None = None  # set: assignment rules re-own unless told not to
        self.duplicate_rule = False

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/services/oauth2/token", self.oauth)
        app.router.add_get(f"{API}/sobjects/Lead/describe", self.describe)
        app.router.add_get(f"{API}/query", self.query)
        app.router.add_post(f"{API}/sobjects/Lead", self.create_lead)
        app.router.add_get(f"{API}/sobjects/Lead/{{id}}", self.read_lead)
        app.router.add_patch(f"{API}/sobjects/Lead/{{id}}", self.update_lead)
        app.router.add_patch(f"{API}/sobjects/Contact/{{id}}", self.update_contact)
        app.router.add_post(f"{API}/sobjects/Task", self.create_task)

    def add_lead(self, **fields: Any) -> str:
        lead_id = self.next_id("00Q5g00000")
        self.leads[lead_id] = {
            "Status": self.statuses[0][0],
            "IsConverted": False,
            "OwnerId": "005A",
            **fields,
        }
        return lead_id

    def convert(self, lead_id: str) -> str:
        contact_id = self.next_id("0035g00000")
        converted = next(v for v, c in self.statuses if c)
        self.leads[lead_id].update(
            IsConverted=True, ConvertedContactId=contact_id, Status=converted
        )
        self.contacts[contact_id] = {"LastName": self.leads[lead_id].get("LastName")}
        return contact_id

    def _jwt_ok(self, assertion: str) -> bool:
        header, payload, signature = assertion.split(".")
        if self.public_key is None:
            return False
        try:
            self.public_key.verify(
                _unb64(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:
            return False
        claims = json.loads(_unb64(payload))
        return (
            claims["iss"] == self.client_id
            and claims["aud"] == self.origin
            and claims["exp"] > time.time()
        )

    async def oauth(self, request: web.Request) -> web.Response:
        form = request[BODY] or {}
        grant = form.get("grant_type")
        ok = (
            grant == "client_credentials"
            and form.get("client_id") == self.client_id
            and form.get("client_secret") == self.client_secret
        ) or (
            grant == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            and self._jwt_ok(form.get("assertion", ""))
        )
        if not ok:
            return web.json_response(
                {"error": "invalid_client", "error_description": "invalid client credentials"},
                status=400,
            )
        return web.json_response(
            {
                "access_token": self.token,
                "instance_url": self.origin,
                "id": f"{self.origin}/id/00D000000000001/005000000000001",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
                "signature": "c2ln",
            }
        )

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.token}"

    def _denied(self) -> web.Response:
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    async def describe(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        values = [
            {
                "active": True,
                "defaultValue": i == 0,
                "label": value,
                "validFor": None,
                "value": value,
            }
            for i, (value, _) in enumerate(self.statuses)
        ]
        fields = [
            {"name": "Id", "type": "id", "picklistValues": []},
            {
                "name": "Status",
                "type": "picklist",
                "restrictedPicklist": True,
                "picklistValues": values,
            },
        ]
        return web.json_response({"name": "Lead", "label": "Lead", "fields": fields})

    async def query(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        soql = request.query["q"]
        if soql.startswith("SELECT ApiName, IsConverted FROM LeadStatus"):
            records = [
                {"attributes": {"type": "LeadStatus"}, "ApiName": v, "IsConverted": c}
                for v, c in self.statuses
            ]
        elif match := re.search(r"WHERE Email = '((?:[^'\\]|\\.)*)'", soql):
            email = match.group(1).replace("\\'", "'")
            records = [
                {"attributes": {"type": "Lead"}, "Id": i}
                for i, lead in self.leads.items()
                if lead.get("Email") == email
            ]
        elif match := re.search(r"WHERE Id IN \((.*)\)", soql):
            ids = re.findall(r"'([^']*)'", match.group(1))
            records = [
                {
                    "attributes": {"type": "Lead"},
                    "Id": i,
                    "Status": self.leads[i]["Status"],
                    "IsConverted": self.leads[i]["IsConverted"],
                }
                for i in ids
                if i in self.leads
            ]
        else:
            return sf_error(400, "MALFORMED_QUERY", f"unexpected query: {soql}")
        return web.json_response({"totalSize": len(records), "done": True, "records": records})

    def _check_fields(self, fields: dict[str, Any]) -> web.Response | None:
        status = fields.get("Status")
        if status is not None and status not in {v for v, _ in self.statuses}:
            return sf_error(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"bad value for restricted picklist field: {status}",
                ["Status"],
            )
        return None

    def _assign(self, request: web.Request, lead: dict[str, Any]) -> None:
        if (
            self.assignment_owner
            and request.headers.get("Sforce-Auto-Assign", "TRUE").upper() != "FALSE"
        ):
            lead["OwnerId"] = self.assignment_owner

    async def create_lead(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        fields = {k: v for k, v in request[BODY].items() if v is not None}
        allow = request.headers.get("Sforce-Duplicate-Rule-Header", "") == "allowSave=true"
        if (
            self.duplicate_rule
            and not allow
            and any(lead.get("Company") == fields.get("Company") for lead in self.leads.values())
        ):
            return sf_error(400, "DUPLICATES_DETECTED", "Use one of these records?")
        if refused := self._check_fields(fields):
            return refused
        lead_id = self.add_lead(**fields)
        self._assign(request, self.leads[lead_id])
        return web.json_response({"id": lead_id, "success": True, "errors": []}, status=201)

    async def read_lead(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        lead = self.leads.get(request.match_info["id"])
        if lead is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return web.json_response(
            {"attributes": {"type": "Lead"}, "Id": request.match_info["id"], **lead}
        )

    async def update_lead(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        lead = self.leads.get(request.match_info["id"])
        if lead is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if lead["IsConverted"]:
            return sf_error(400, "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        if refused := self._check_fields(request[BODY]):
            return refused
        lead.update(request[BODY])
        self._assign(request, lead)
        return web.Response(status=204)

    async def update_contact(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        contact = self.contacts.get(request.match_info["id"])
        if contact is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        contact.update(request[BODY])
        return web.Response(status=204)

    async def create_task(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._denied()
        task_id = self.next_id("00T5g00000")
        self.tasks[task_id] = request[BODY]
        return web.json_response({"id": task_id, "success": True, "errors": []}, status=201)
