"""Salesforce through a connected app: OAuth 2.0, Lead updates, Tasks, the org's own statuses.

Every Lead write says ``Sforce-Auto-Assign: FALSE``: otherwise the org's assignment rules
may re-own the lead Pursuit has just routed.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from backend.crm.connectors import (
    CrmError,
    LeadFacts,
    Pacer,
    Record,
    Remember,
    RemoteState,
    country_of,
    resolve_option,
    short,
)

logger = logging.getLogger(__name__)

API = "/services/data/v60.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
LIMIT_PAUSE_S = 900.0  # an exhausted API limit frees up over the rolling day; look again later
TASK_SUBTYPES = {"call": "Call", "email": "Email"}
DEFAULT_MAPPING: dict[str, Any] = {
    "statuses": {
        "routing": "Open - Not Contacted",
        "offered": "Open - Not Contacted",
        "unassigned": "Open - Not Contacted",
        "accepted": "Working - Contacted",
        "contacted": "Working - Contacted",
        "lost": "Closed - Not Converted",
    },
    "owners": {},
    "decline_reason_field": "",
    "first_contact_field": "",
    # The org flags converted statuses, not closed ones: these close a lead as lost.
    "lost_statuses": ["Closed - Not Converted"],
    "on_converted": "contact",
    "allow_duplicates": False,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_assertion(client_id: str, username: str, audience: str, private_key_pem: str) -> str:
    """The signed RS256 token of the OAuth 2.0 JWT bearer flow."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CrmError("The Salesforce private key must be an RSA key.", permanent=True)
    header = _b64(json.dumps({"alg": "RS256"}).encode())
    claims = {"iss": client_id, "sub": username, "aud": audience, "exp": int(time.time()) + 180}
    payload = _b64(json.dumps(claims).encode())
    signature = key.sign(f"{header}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{payload}.{_b64(signature)}"


def soql_text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Salesforce:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: dict[str, Any],
        mapping: dict[str, Any],
        pace_s: float = 0.0,
    ) -> None:
        self.http = http
        self.login_url = base_url.rstrip("/")
        self.credentials = credentials
        self.mapping = {**DEFAULT_MAPPING, **mapping}
        self.pacer = Pacer(pace_s)
        self._token: str | None = None
        self._instance: str | None = None
        self._statuses: list[dict[str, Any]] | None = None

    async def _authenticate(self) -> None:
        creds = self.credentials
        if creds.get("private_key"):
            form = {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "assertion": jwt_assertion(
                    str(creds["client_id"]),
                    str(creds.get("username", "")),
                    str(creds.get("audience") or self.login_url),
                    str(creds["private_key"]),
                ),
            }
        else:
            form = {
                "grant_type": "client_credentials",
                "client_id": str(creds.get("client_id", "")),
                "client_secret": str(creds.get("client_secret", "")),
            }

        try:
            response = await self.http.post(self.login_url + "/services/oauth2/token", data=form)
        except httpx.HTTPError as exc:
            raise CrmError(f"Salesforce could not be reached: {type(exc).__name__}.") from exc
        if response.status_code != 200:
            raise self._token_failure(response)
        body = response.json()
        self._token, self._instance = body["access_token"], body["instance_url"].rstrip("/")

    def _token_failure(self, response: httpx.Response) -> CrmError:
        try:
            body = response.json()
            text = f"{body.get('error')}: {body.get('error_description')}"
        except ValueError:
            text = response.text
        message = f"Salesforce refused the sign-in ({response.status_code} {short(text)})"
        return CrmError(message, permanent=400 <= response.status_code < 500)

    async def _call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """One API call; an expired session is renewed once and the call made again."""
        for attempt in (1, 2):
            if self._token is None:
                await self._authenticate()
            await self.pacer.wait()
            sent = {"Authorization": f"Bearer {self._token}", **(headers or {})}
            try:
                response = await self.http.request(
                    method, f"{self._instance}{API}{path}", headers=sent, **kw
                )
            except httpx.HTTPError as exc:
                raise CrmError(f"Salesforce could not be reached: {type(exc).__name__}.") from exc
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return response
        return response

    @staticmethod
    def errors(response: httpx.Response) -> list[dict[str, Any]]:
        try:
            body = response.json()
        except ValueError:
            return [{"message": response.text or response.reason_phrase, "errorCode": ""}]
        if isinstance(body, list):
            return [e for e in body if isinstance(e, dict)]
        return [body] if isinstance(body, dict) else []

    def _failure(self, response: httpx.Response) -> CrmError:
        found = self.errors(response)
        codes = {str(e.get("errorCode", "")) for e in found}
        text = "; ".join(_error_text(e) for e in found) or response.reason_phrase
        message = f"Salesforce answered {response.status_code} {short(text)}"
        status = response.status_code
        if status == 403 and "REQUEST_LIMIT_EXCEEDED" in codes:
            return CrmError(message, retry_after=LIMIT_PAUSE_S)
        if status == 429:
            return CrmError(message, retry_after=60.0)
        return CrmError(message, permanent=400 <= status < 500)

    async def _json(self, method: str, path: str, ok: tuple[int, ...], **kw: Any) -> Any:
        response = await self._call(method, path, **kw)
        if response.status_code not in ok:
            raise self._failure(response)
        return response.json() if response.content else {}

    async def query(self, soql: str) -> list[dict[str, Any]]:
        found = await self._json("GET", "/query", (200,), params={"q": soql})
        return list(found.get("records", []))

    async def statuses(self) -> list[dict[str, Any]]:
        """Lead Status values from describe, each flagged converted from LeadStatus."""
        if self._statuses is None:
            described = await self._json("GET", "/sobjects/Lead/describe", (200,))
            field = next((f for f in described["fields"] if f["name"] == "Status"), None)
            values = [v for v in (field or {}).get("picklistValues", []) if v.get("active")]
            converted = {
                r["ApiName"]
                for r in await self.query("SELECT ApiName, IsConverted FROM LeadStatus")
                if r.get("IsConverted")
            }
            self._statuses = [{**v, "converted": v["value"] in converted} for v in values]
        return self._statuses

    async def check(self) -> str:
        values = await self.statuses()
        shown = ", ".join(v["value"] + (" (converted)" if v["converted"] else "") for v in values)
        return f"Connected: Lead Status offers {shown}."

    async def _status_value(self, status: str) -> str | None:
        wanted = (self.mapping.get("statuses") or {}).get(status)
        if not wanted:
            return None
        values = await self.statuses()
        value = resolve_option(str(wanted), values)
        if value is None:
            raise CrmError(
                f"The status mapping sends {status!r} to {wanted!r}, which is not a Lead "
                "Status value of this org.",
                permanent=True,
            )
        if any(v["value"] == value and v["converted"] for v in values):
            return None  # only converting the lead in Salesforce may set a converted status
        return value

    def _owner(self, facts: LeadFacts) -> str | None:
        owners = self.mapping.get("owners") or {}
        found = owners.get(facts.owner_id or "") or owners.get(facts.owner_email or "")
        return str(found) if found else None

    async def _fields(self, facts: LeadFacts) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if (value := await self._status_value(facts.status)) is not None:
            fields["Status"] = value
        if owner := self._owner(facts):
            fields["OwnerId"] = owner
        if (name := self.mapping.get("decline_reason_field")) and facts.decline_reason:
            fields[name] = facts.decline_reason
        if (name := self.mapping.get("first_contact_field")) and facts.first_contact_at:
            fields[name] = facts.first_contact_at.isoformat()
        return fields

    async def _send_lead(self, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
        """A Lead write that never triggers assignment rules, retried past duplicate rules
        only when the connection allows saving duplicates."""
        headers = {"Sforce-Auto-Assign": "FALSE"}
        response = await self._call(method, path, headers=headers, json=body)
        codes = {e.get("errorCode") for e in self.errors(response)} if response.is_error else set()
        if "DUPLICATES_DETECTED" in codes and self.mapping.get("allow_duplicates"):
            headers["Sforce-Duplicate-Rule-Header"] = "allowSave=true"
            response = await self._call(method, path, headers=headers, json=body)
        return response

    async def _find_or_create(self, facts: LeadFacts) -> str:
        if facts.email:
            soql = (
                f"SELECT Id FROM Lead WHERE Email = {soql_text(facts.email)} "  # noqa: S608 - quoted by soql_text
                "ORDER BY CreatedDate DESC LIMIT 1"
            )
            if found := await self.query(soql):
                return str(found[0]["Id"])

        body = {
            "FirstName": facts.first_name,
            "LastName": facts.last_name or facts.email or "Unknown",
            "Company": facts.company or "Not provided",
            "Email": facts.email,
            "Phone": facts.phone,
            "LeadSource": "Pursuit",
        }
        response = await self._send_lead("POST", "/sobjects/Lead", body)
        if response.status_code != 201:
            raise self._failure(response)
        return str(response.json()["id"])

    async def write(self, facts: LeadFacts, record: Record, remember: Remember) -> Record:
        if record.record_id is None:
            record.record_id, record.object_type = await self._find_or_create(facts), "Lead"
            await remember(record)
        if record.object_type == "Contact":
            return await self._write_converted(facts, record, remember)

        response = await self._send_lead(
            "PATCH", f"/sobjects/Lead/{record.record_id}", await self._fields(facts)
        )
        codes = {e.get("errorCode") for e in self.errors(response)} if response.is_error else set()
        if "CANNOT_UPDATE_CONVERTED_LEAD" in codes:
            return await self._converted(facts, record, remember)
        if response.status_code != 204:
            raise self._failure(response)
        await self._write_tasks(facts, record, record.record_id, remember)
        return record

    async def _converted(self, facts: LeadFacts, record: Record, remember: Remember) -> Record:
        """The lead was converted in Salesforce: follow it to its contact, or stop there."""
        lead = await self._json(
            "GET",
            f"/sobjects/Lead/{record.record_id}",
            (200,),
            params={"fields": "Id,IsConverted,ConvertedContactId"},
        )
        contact = lead.get("ConvertedContactId")
        if self.mapping.get("on_converted") != "contact" or not contact:
            record.remark = f"Lead {record.record_id} was converted in Salesforce; not written."
            return record
        record.written["converted_lead_id"] = record.record_id
        record.object_type, record.record_id = "Contact", str(contact)
        record.remark = f"Lead was converted in Salesforce; written to contact {contact}."
        await remember(record)
        return await self._write_converted(facts, record, remember)

    async def _write_converted(
        self, facts: LeadFacts, record: Record, remember: Remember
    ) -> Record:
        if owner := self._owner(facts):
            response = await self._call(
                "PATCH", f"/sobjects/Contact/{record.record_id}", json={"OwnerId": owner}
            )
            if response.status_code != 204:
                raise self._failure(response)
        await self._write_tasks(facts, record, str(record.record_id), remember)
        return record

    async def _write_tasks(
        self, facts: LeadFacts, record: Record, who_id: str, remember: Remember
    ) -> None:
        """One completed Task per logged contact, each created once."""
        tasks: dict[str, str] = record.written.setdefault("tasks", {})
        for activity in facts.activities:
            if activity.id in tasks:
                continue
            body: dict[str, Any] = {
                "WhoId": who_id,
                "Subject": _subject(activity.kind, activity.outcome),
                "Status": "Completed",
                "ActivityDate": activity.at.date().isoformat(),
                "Description": activity.note or "",
            }
            if subtype := TASK_SUBTYPES.get(activity.kind):
                body["TaskSubtype"] = subtype
            if owner := self._owner(facts):
                body["OwnerId"] = owner
            created = await self._json("POST", "/sobjects/Task", (201,), json=body)
            tasks[activity.id] = str(created["id"])
            await remember(record)

    async def fetch(self, object_type: str, record_id: str) -> dict[str, Any]:
        fields = "Id,FirstName,LastName,Email,Phone,Company,Country,State,City,Street,PostalCode"
        found = await self._json(
            "GET", f"/sobjects/{object_type}/{record_id}", (200,), params={"fields": fields}
        )
        return {
            "email": found.get("Email"),
            "first_name": found.get("FirstName"),
            "last_name": found.get("LastName"),
            "phone": found.get("Phone"),
            "company": found.get("Company"),
            # With state and country picklists Country holds the name, CountryCode the code.
            "country": country_of(found.get("CountryCode"), found.get("Country")),
            "region": found.get("State"),
            "city": found.get("City"),
            "address": found.get("Street"),
            "postal_code": found.get("PostalCode"),
        }

    async def read_states(self, records: list[Record]) -> list[RemoteState]:
        ids = [i for i in map(_lead_id, records) if i]
        lost = set(self.mapping.get("lost_statuses") or [])
        states: list[RemoteState] = []
        for start in range(0, len(ids), 100):
            chunk = ", ".join(soql_text(i) for i in ids[start : start + 100])
            rows = await self.query(
                f"SELECT Id, Status, IsConverted FROM Lead WHERE Id IN ({chunk})"  # noqa: S608 - quoted by soql_text
            )
            for row in rows:
                outcome = "won" if row.get("IsConverted") else None
                if outcome is None and row.get("Status") in lost:
                    outcome = "lost"
                states.append(RemoteState(str(row["Id"]), row.get("Status"), outcome))
        return states


def _lead_id(record: Record) -> str | None:
    """The Salesforce Lead behind a record, also once it was converted to a contact."""
    if record.object_type == "Contact":
        return record.written.get("converted_lead_id")
    return record.record_id if record.object_type == "Lead" else None


def _error_text(error: dict[str, Any]) -> str:
    text = f"{error.get('errorCode', '')}: {error.get('message', '')}".strip(": ")
    if error.get("fields"):
        text += f" (fields: {', '.join(map(str, error['fields']))})"
    return text


def _subject(kind: str, outcome: str | None) -> str:
    words = kind.capitalize()
    return f"{words}: {outcome.replace('_', ' ')}" if outcome else words
