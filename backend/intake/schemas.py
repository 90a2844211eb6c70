"""The shape of one inquiry as integrators send it."""

from __future__ import annotations

from datetime import datetime

import msgspec


class LeadIn(msgspec.Struct, forbid_unknown_fields=False):
    source: str
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: str | None = None
    country: str | None = None
    region: str | None = None
    city: str | None = None
    address: str | None = None
    postal_code: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    product: str | None = None
    language: str | None = None
    campaign: str | None = None
    message: str | None = None
    value: float | None = None
    currency: str | None = None
    received_at: datetime | None = None


class OfferOut(msgspec.Struct):
    id: str
    agent_id: str
    expires_at: datetime


class IntakeOut(msgspec.Struct):
    inquiry_id: str
    lead_id: str | None
    coalesced: bool
    status: str
    owner: str | None
    offer: OfferOut | None
