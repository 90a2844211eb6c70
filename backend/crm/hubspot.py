"""HubSpot through a private app token: contacts, the lead status property, timeline notes."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx

from backend.crm.connectors import (
    CrmError,
    LeadFacts,
    Pacer,
    Record,
    Remember,
    RemoteState,
    country_of,
    resolve_option,
    retry_after_seconds,
    short,
)

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
# Private apps may make 100 to 190 calls per ten seconds; ten a second stays under both.
PACE_S = 0.1
NOTE_TO_CONTACT = 202  # HubSpot-defined association type: note to contact
EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
DEFAULT_MAPPING: dict[str, Any] = {
    "status_property": "hs_lead_status",
    # Option values or labels of a stock portal; each is checked against the portal's own.
    "statuses": {
        "routing": "New",
        "offered": "New",
        "unassigned": "New",
        "accepted": "Open",
        "contacted": "Connected",
        "won": "Open Deal",
        "lost": "Unqualified",
    },
    "owners": {},
    "decline_reason_property": "",
    "first_contact_property": "",
    "won_lifecycle_stages": ["customer"],
    "lost_statuses": ["UNQUALIFIED"],
    "write_note": True,
}
INBOUND_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "country",
    "state",
    "city",
    "address",
    "zip",
    "message",
)


class HubSpot:
    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        credentials: dict[str, Any],
        mapping: dict[str, Any],
        pace_s: float = PACE_S,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.token = str(credentials.get("token", ""))
        self.mapping = {**DEFAULT_MAPPING, **mapping}
        self.pacer = Pacer(pace_s)
        self._options: list[dict[str, Any]] | None = None

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        await self.pacer.wait()
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            response = await self.http.request(
                method, self.base_url + path, headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise CrmError(f"HubSpot could not be reached: {type(exc).__name__}.") from exc
        return response

    async def _json(self, method: str, path: str, ok: tuple[int, ...], **kw: Any) -> Any:
        response = await self._call(method, path, **kw)
        if response.status_code not in ok:
            raise self._failure(response)
        return response.json() if response.content else {}

    def _failure(self, response: httpx.Response) -> CrmError:
        status = response.status_code
        try:
            body = response.json()
            text = str(body.get("message") or body)
        except ValueError:
            text = response.text or response.reason_phrase
        message = f"HubSpot answered {status}: {short(text)}"
        if status == 429:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            return CrmError(message, retry_after=after if after is not None else 10.0)
        return CrmError(message, permanent=400 <= status < 500)

    async def status_options(self) -> list[dict[str, Any]]:
        """The portal's own options of the status property, read once per connector."""
        if self._options is None:
            name = self.mapping["status_property"]
            found = await self._json("GET", f"/crm/v3/properties/contacts/{name}", (200,))
            self._options = [o for o in found.get("options", []) if not o.get("hidden")]
        return self._options

    async def check(self) -> str:
        options = await self.status_options()
        values = ", ".join(str(o["value"]) for o in options)
        return f"Connected: {self.mapping['status_property']} offers {values}."

    async def _status_value(self, status: str) -> str | None:
        wanted = (self.mapping.get("statuses") or {}).get(status)
        if not wanted:
            return None
        value = resolve_option(str(wanted), await self.status_options())
        if value is None:
            raise CrmError(
                f"The status mapping sends {status!r} to {wanted!r}, which is not an option "
                f"of {self.mapping['status_property']} in this portal.",
                permanent=True,
            )
        return value

    async def _properties(self, facts: LeadFacts) -> dict[str, str]:
        props: dict[str, str] = {}
        if (value := await self._status_value(facts.status)) is not None:
            props[self.mapping["status_property"]] = value
        owners = self.mapping.get("owners") or {}
        owner = owners.get(facts.owner_id or "") or owners.get(facts.owner_email or "")
        if owner:
            props["hubspot_owner_id"] = str(owner)
        if (name := self.mapping.get("decline_reason_property")) and facts.decline_reason:
            props[name] = facts.decline_reason
        if (name := self.mapping.get("first_contact_property")) and facts.first_contact_at:
            props[name] = facts.first_contact_at.isoformat().replace("+00:00", "Z")
        return props

    async def _find_or_create(self, facts: LeadFacts) -> str:
        """The contact by email, read directly: the search index lags behind recent writes."""
        if not facts.email:
            raise CrmError("The lead has no email to find its HubSpot contact by.", permanent=True)
        path = f"/crm/v3/objects/contacts/{facts.email}"
        found = await self._call("GET", path, params={"idProperty": "email"})
        if found.status_code == 200:
            return str(found.json()["id"])
        if found.status_code != 404:
            raise self._failure(found)

        create = {
            "email": facts.email,
            "firstname": facts.first_name or "",
            "lastname": facts.last_name or "",
            "company": facts.company or "",
        }
        created = await self._call("POST", "/crm/v3/objects/contacts", json={"properties": create})
        if created.status_code == 201:
            return str(created.json()["id"])
        if created.status_code == 409:
            # Made meanwhile (or by our own earlier try): the conflict names the record.
            match = EXISTING_ID.search(created.text)
            if match:
                return match.group(1)
        raise self._failure(created)

    async def write(self, facts: LeadFacts, record: Record, remember: Remember) -> Record:
        if record.record_id is None:
            record.record_id, record.object_type = await self._find_or_create(facts), "contact"
            await remember(record)

        path = f"/crm/v3/objects/contacts/{record.record_id}"
        properties = await self._properties(facts)
        if properties:
            await self._json("PATCH", path, (200,), json={"properties": properties})
        if self.mapping.get("write_note", True):
            await self._write_note(facts, record, remember)
        return record

    async def _write_note(self, facts: LeadFacts, record: Record, remember: Remember) -> None:
        """One note per lead, kept up to date with the journey rather than one per change."""
        body = {"hs_note_body": facts.summary, "hs_timestamp": _stamp(facts)}
        note_id = record.written.get("note_id")
        if note_id:
            await self._json(
                "PATCH", f"/crm/v3/objects/notes/{note_id}", (200,), json={"properties": body}
            )
            return

        association = {
            "to": {"id": record.record_id},
            "types": [
                {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": NOTE_TO_CONTACT}
            ],
        }
        created = await self._json(
            "POST",
            "/crm/v3/objects/notes",
            (201,),
            json={"properties": body, "associations": [association]},
        )
        record.written["note_id"] = str(created["id"])
        await remember(record)

    async def fetch(self, object_type: str, record_id: str) -> dict[str, Any]:
        found = await self._json(
            "GET",
            f"/crm/v3/objects/contacts/{record_id}",
            (200,),
            params={"properties": ",".join(INBOUND_PROPERTIES)},
        )
        props = found.get("properties") or {}
        return {
            "email": props.get("email"),
            "first_name": props.get("firstname"),
            "last_name": props.get("lastname"),
            "phone": props.get("phone"),
            "company": props.get("company"),
            "country": country_of(None, props.get("country")),
            "region": props.get("state"),
            "city": props.get("city"),
            "address": props.get("address"),
            "postal_code": props.get("zip"),
            "message": props.get("message"),
        }

    async def read_states(self, records: list[Record]) -> list[RemoteState]:
        status_property = self.mapping["status_property"]
        states: list[RemoteState] = []
        ids = [r.record_id for r in records if r.record_id]
        for start in range(0, len(ids), 100):
            body = {
                "properties": [status_property, "lifecyclestage"],
                "inputs": [{"id": i} for i in ids[start : start + 100]],
            }
            found = await self._json(
                "POST", "/crm/v3/objects/contacts/batch/read", (200, 207), json=body
            )
            states += [self._state(r, status_property) for r in found.get("results", [])]
        return states

    def _state(self, result: dict[str, Any], status_property: str) -> RemoteState:
        props = result.get("properties") or {}
        status, stage = props.get(status_property), props.get("lifecyclestage")
        outcome = None
        if stage and stage in self.mapping.get("won_lifecycle_stages", []):
            outcome = "won"
        elif status and status in self.mapping.get("lost_statuses", []):
            outcome = "lost"
        return RemoteState(str(result["id"]), status, outcome)


def _stamp(facts: LeadFacts) -> str:
    """The note's time on the timeline: the latest step of the journey it tells."""
    moments = [a.at for a in facts.activities] + [facts.first_contact_at or facts.updated_at]
    return max(moments).isoformat().replace("+00:00", "Z")
