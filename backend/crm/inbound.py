"""Reading CRM deliveries: HubSpot v3 signatures and events, Salesforce outbound messages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import xml.etree.ElementTree as ET
from typing import Any

from backend.crm.connectors import country_of
from backend.crm.service import Delivery
from backend.errors import BadInput, NotAuthenticated

SIGNATURE_WINDOW_MS = 5 * 60 * 1000
HUBSPOT_CREATIONS = {"contact.creation"}
CONTACT_OBJECT_TYPE = "0-1"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND = "http://soap.sforce.com/2005/09/outbound"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    f'<soapenv:Envelope xmlns:soapenv="{SOAP}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)
SALESFORCE_FIELDS = {
    "Email": "email",
    "FirstName": "first_name",
    "LastName": "last_name",
    "Phone": "phone",
    "Company": "company",
    "State": "region",
    "City": "city",
    "Street": "address",
    "PostalCode": "postal_code",
    "Description": "message",
}


def hubspot_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    message = method.encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_hubspot_signature(
    secret: str,
    method: str,
    uri: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_ms: int,
) -> None:
    if not signature or not timestamp:
        raise NotAuthenticated(
            "This request carries no HubSpot signature (X-HubSpot-Signature-v3 and "
            "X-HubSpot-Request-Timestamp)."
        )
    try:
        age = now_ms - int(timestamp)
    except ValueError as exc:
        raise NotAuthenticated("The HubSpot request timestamp is not a number.") from exc
    if abs(age) > SIGNATURE_WINDOW_MS:
        raise NotAuthenticated("The HubSpot request is more than five minutes old; it is refused.")
    expected = hubspot_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected, signature):
        raise NotAuthenticated("The HubSpot signature does not match this request's body.")


def hubspot_deliveries(body: bytes) -> list[Delivery]:
    """New contacts among the events; other events are acknowledged and left alone."""
    try:
        events = json.loads(body)
    except ValueError as exc:
        raise BadInput("A HubSpot delivery must be a JSON array of events.") from exc
    if not isinstance(events, list):
        raise BadInput("A HubSpot delivery must be a JSON array of events.")
    found = []
    for event in events:
        if not isinstance(event, dict) or "objectId" not in event or "eventId" not in event:
            raise BadInput("Each HubSpot event needs an eventId and an objectId.")
        kind = event.get("subscriptionType")
        contact_object = kind == "object.creation" and event.get("objectTypeId") == "0-1"
        if kind in HUBSPOT_CREATIONS or contact_object:
            found.append(Delivery(str(event["eventId"]), "contact", str(event["objectId"]), {}))
    return found


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def outbound_message(body: bytes) -> tuple[str, list[Delivery]]:
    """The organization id and the notifications of a Salesforce outbound message."""
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadInput("An outbound message must not carry a document type definition.")
    try:
        root = ET.fromstring(body)  # noqa: S314 - no DTD, so no entity expansion
    except ET.ParseError as exc:
        raise BadInput(f"The outbound message is not well-formed XML: {exc}.") from exc
    notifications = root.find(f".//{{{OUTBOUND}}}notifications")
    if notifications is None:
        raise BadInput("The SOAP body holds no Salesforce notifications element.")
    org = (notifications.findtext(f"{{{OUTBOUND}}}OrganizationId") or "").strip()
    deliveries = []
    for item in notifications.findall(f"{{{OUTBOUND}}}Notification"):
        deliveries.append(_notification(item))
    return org, deliveries


def _notification(item: ET.Element) -> Delivery:
    notification_id = (item.findtext(f"{{{OUTBOUND}}}Id") or "").strip()
    record = item.find(f"{{{OUTBOUND}}}sObject")
    if not notification_id or record is None:
        raise BadInput("Each notification needs an Id and an sObject.")
    object_type = record.get(f"{{{XSI}}}type", "sf:Lead").rsplit(":", 1)[-1]
    values = {_local(child.tag): (child.text or "").strip() for child in record}
    if not values.get("Id"):
        raise BadInput("A notification's sObject has no Id.")
    fields = {
        ours: values[theirs] for theirs, ours in SALESFORCE_FIELDS.items() if values.get(theirs)
    }
    if country := country_of(values.get("CountryCode"), values.get("Country")):
        fields["country"] = country
    return Delivery(notification_id, object_type, values["Id"], fields)


def _text(value: Any) -> str | None:
    return str(value) if value else None


def same_org(expected: str, given: str) -> bool:
    """Organization ids compare on their case-sensitive 15-character form."""
    return bool(expected) and expected[:15] == given[:15]


def callout_deliveries(body: Any) -> list[Delivery]:
    """A JSON callout: one record or ``{"records": [...]}``, each with Id and fields."""
    records = body.get("records", [body]) if isinstance(body, dict) else body
    if not isinstance(records, list) or not records:
        raise BadInput('A callout must be a record or {"records": [...]} with at least one.')
    found = []
    for record in records:
        if not isinstance(record, dict) or not record.get("Id"):
            raise BadInput("Each record in the callout needs its Salesforce Id.")
        object_type = str((record.get("attributes") or {}).get("type") or "Lead")
        fields = {
            ours: str(record[theirs])
            for theirs, ours in SALESFORCE_FIELDS.items()
            if record.get(theirs)
        }
        if country := country_of(_text(record.get("CountryCode")), _text(record.get("Country"))):
            fields["country"] = country
        delivery = str(
            record.get("notification_id") or f"{record['Id']}@{record.get('LastModifiedDate', '')}"
        )
        found.append(Delivery(delivery, object_type, str(record["Id"]), fields))
    return found
