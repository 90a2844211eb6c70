"""Inlets: the named doors inquiries come in by, and how each one's fields become lead fields."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.errors import BadInput, Conflict, NotFound
from backend.identity.service import country_code
from backend.intake.models import Inlet

logger = logging.getLogger(__name__)

KINDS = ("form", "email", "csv")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# "name" is split into first and last name; every other target is a lead field.
TARGETS = (
    "name", "first_name", "last_name", "email", "phone", "company", "country", "region",
    "city", "postal_code", "address", "product", "language", "campaign", "message", "value",
    "currency", "external_id",
)  # fmt: skip
HONEYPOT = "website"
EDITABLE = ("kind", "name", "source", "field_map", "default_country", "thank_you_url", "active")
# Fields a form page carries for its own sake, never part of the inquiry.
FORM_CONTROLS = (HONEYPOT, "_csrf_token", "submit")
FORM_FIELDS = ("name", "email", "phone", "company", "message")
LABELS = {
    "name": "Your name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "company": "Company",
    "country": "Country",
    "region": "State or region",
    "city": "City",
    "postal_code": "Postal code",
    "address": "Street address",
    "product": "Product",
    "message": "How can we help?",
}


def _text(body: dict[str, Any], key: str, limit: int, default: str | None = None) -> str | None:
    value = body.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadInput(f"{key} must be text.", field=key)
    value = value.strip()
    if len(value) > limit:
        raise BadInput(f"{key} is longer than {limit} characters.", field=key)
    return value or None


def _slug(body: dict[str, Any]) -> str:
    slug = _text(body, "slug", 64)
    if slug is None or not SLUG.fullmatch(slug):
        raise BadInput(
            f"slug {slug!r} must be 1 to 64 lower-case letters, digits or dashes, "
            "starting with a letter or digit, such as 'contact-us'.",
            field="slug",
        )
    return slug


def _field_map(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput("field_map must map field names to lead fields.", field="field_map")
    mapping: dict[str, str] = {}
    for name, target in value.items():
        if not isinstance(target, str) or target not in TARGETS:
            raise BadInput(
                f"field_map sends {name!r} to {target!r}, which is not one of "
                f"{', '.join(TARGETS)}.",
                field="field_map",
            )
        if name in FORM_CONTROLS or not name.strip() or len(name) > 100:
            raise BadInput(f"field_map cannot use the field name {name!r}.", field="field_map")
        mapping[name] = target
    return mapping


def _thank_you_url(body: dict[str, Any]) -> str | None:
    url = _text(body, "thank_you_url", 2000)
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadInput(
            f"thank_you_url {url!r} must be an http or https address.", field="thank_you_url"
        )
    return url


def inlet_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Check an inlet's settings; raise BadInput naming the first wrong one."""
    slug = _slug(body)
    kind = body.get("kind")
    if kind not in KINDS:
        raise BadInput(f"kind {kind!r} must be one of {', '.join(KINDS)}.", field="kind")
    source = _text(body, "source", 100)
    if source is None:
        raise BadInput("source must name where its inquiries come from, such as 'web'.")
    active = body.get("active", True)
    if not isinstance(active, bool):
        raise BadInput("active must be true or false.", field="active")
    return {
        "slug": slug,
        "kind": kind,
        "name": _text(body, "name", 200) or slug,
        "source": source,
        "field_map": _field_map(body.get("field_map")),
        "default_country": country_code(_text(body, "default_country", 100), "default_country"),
        "thank_you_url": _thank_you_url(body),
        "active": active,
    }


async def create_inlet(session: AsyncSession, body: dict[str, Any]) -> Inlet:
    inlet = Inlet(**inlet_fields(body))
    session.add(inlet)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise Conflict(f"An inlet with the slug {inlet.slug!r} already exists.") from exc
    logger.info("inlet created inlet_id=%s kind=%s", inlet.id, inlet.kind)
    return inlet


async def update_inlet(session: AsyncSession, slug: str, changes: dict[str, Any]) -> Inlet:
    """Change any setting but the slug; an inactive inlet can be changed and reopened."""
    inlet = await session.scalar(select(Inlet).where(Inlet.slug == slug))
    if inlet is None:
        raise NotFound(f"There is no inlet called {slug!r}.")
    if "slug" in changes and changes["slug"] != slug:
        raise BadInput("An inlet's slug cannot change; its address is already in use.")
    current = {key: getattr(inlet, key) for key in EDITABLE}
    for key, value in inlet_fields({**current, **changes, "slug": slug}).items():
        setattr(inlet, key, value)
    await session.commit()
    logger.info("inlet changed inlet_id=%s", inlet.id)
    return inlet


async def list_inlets(session: AsyncSession) -> list[Inlet]:
    return list((await session.scalars(select(Inlet).order_by(Inlet.slug))).all())


async def inlet_by_slug(session: AsyncSession, slug: str, kind: str | None = None) -> Inlet:
    """An active inlet; NotFound for an unknown, inactive or other-kind slug."""
    inlet = await session.scalar(select(Inlet).where(Inlet.slug == slug))
    if inlet is None or not inlet.active or (kind is not None and inlet.kind != kind):
        label = f"{kind} inlet" if kind else "inlet"
        raise NotFound(f"There is no active {label} called {slug!r}.")
    return inlet


def inlet_json(inlet: Inlet) -> dict[str, Any]:
    return {
        "id": inlet.id,
        "slug": inlet.slug,
        "name": inlet.name,
        "kind": inlet.kind,
        "source": inlet.source,
        "field_map": inlet.field_map,
        "default_country": inlet.default_country,
        "thank_you_url": inlet.thank_you_url,
        "active": inlet.active,
        "created_at": inlet.created_at.isoformat(),
    }


def form_inputs(inlet: Inlet) -> list[tuple[str, str]]:
    """The hosted form's (field name, lead field) pairs: name, email, phone, company and
    message, each under the name the mapping gives it, then the other mapped fields."""
    named = {target: name for name, target in inlet.field_map.items()}
    shown = [(named.get(target, target), target) for target in FORM_FIELDS]
    return shown + [(name, target) for target, name in named.items() if target not in FORM_FIELDS]


def split_name(full: str) -> tuple[str, str | None]:
    """First name and the rest: "Maria da Silva" is Maria and da Silva."""
    first, _, rest = full.strip().partition(" ")
    return first, rest.strip() or None


def map_fields(inlet: Inlet, submitted: dict[str, str]) -> dict[str, Any]:
    """A lead body from a form's or mail's fields, by the inlet's mapping.

    Fields that map to nothing are kept as ``name: value`` lines under the message,
    so nothing the person wrote is dropped.
    """
    body: dict[str, Any] = {"source": inlet.source}
    extras: list[str] = []
    for name, raw in submitted.items():
        value = raw.strip()
        if name in FORM_CONTROLS or not value:
            continue
        target = inlet.field_map.get(name) or (name if name in TARGETS else None)
        if target is None:
            extras.append(f"{name}: {value}")
        elif target == "name":
            body["first_name"], body["last_name"] = split_name(value)
        else:
            body[target] = value
    if extras:
        body["message"] = "\n".join([body.get("message") or "", *extras]).strip()
    if "value" in body:
        body["value"] = _number(body["value"])
    if inlet.default_country and not body.get("country"):
        body["country"] = inlet.default_country
    return {key: value for key, value in body.items() if value is not None}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise BadInput(f"value {text!r} is not a number like 1234.50.", field="value") from exc
