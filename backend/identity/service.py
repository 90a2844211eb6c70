"""Recognising people: email addresses and phone numbers in their canonical forms."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from backend.errors import BadInput


def clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def normalize_email(raw: str | None) -> str | None:
    raw = clean(raw)
    if raw is None:
        return None
    try:
        # Mailbox names are case-blind at every provider that matters; one prospect
        # writing Rita@ once and rita@ later is still one prospect.
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise BadInput(f"email {raw!r} is not a valid address: {exc}", field="email") from exc


def normalize_phone(raw: str | None, country: str | None) -> str | None:
    raw = clean(raw)
    if raw is None:
        return None
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise BadInput(
            f"phone {raw!r} is not a phone number: {str(exc).rstrip('.')}.", field="phone"
        ) from exc
    if not phonenumbers.is_possible_number(number):
        raise BadInput(f"phone {raw!r} has the wrong number of digits.", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def iso_code(value: str | None, length: int, field: str, example: str) -> str | None:
    """An ISO country or currency code, upper-cased; BadInput when it has the wrong shape."""
    value = clean(value)
    if value is None:
        return None
    if len(value) != length or not value.isalpha():
        raise BadInput(
            f"{field} {value!r} must be a {length}-letter ISO code such as '{example}'.",
            field=field,
        )
    return value.upper()
