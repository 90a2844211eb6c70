"""Recognising people: email addresses and phone numbers in their canonical forms.

What is stored keeps the prospect's own spelling where it may matter (the mailbox part of
an address); the folded forms that decide "same prospect" live in ``backend.identity.keys``.
"""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from backend.errors import BadInput

# Regions phonenumbers knows: every ISO 3166-1 country with a numbering plan (the
# uninhabited AQ, BV, GS, HM, TF, UM and Pitcairn's PN have none), plus XK, AC and TA.
COUNTRIES = frozenset(phonenumbers.SUPPORTED_REGIONS)


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
        # The domain is lower-cased and Unicode-normalized; the mailbox part is kept as
        # written, since a few mail servers still tell its cases apart.
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise BadInput(f"email {raw!r} is not a valid address: {exc}", field="email") from exc


def normalize_phone(raw: str | None, country: str | None) -> str | None:
    return split_phone(raw, country)[0]


def split_phone(raw: str | None, country: str | None) -> tuple[str | None, str | None]:
    """The number in E.164 and its extension apart; ``country`` is the default region.

    A national number with no country is refused rather than guessed: read as some
    other country's, it would reach a stranger and match the wrong prospect.
    """
    raw = clean(raw)
    if raw is None:
        return None, None
    if country is None and not raw.startswith("+"):
        raise BadInput(
            f"phone {raw!r} has no country code and no country was given to read it in; "
            "write it as +<country code> <number>, or give the country.",
            field="phone",
        )
    try:
        number = _international(raw) or phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as exc:
        raise BadInput(_unreadable(raw, country, exc), field="phone") from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        raise BadInput(
            f"phone {raw!r} has no area code; write the whole number as dialled from "
            "elsewhere in the country, or with + and the country code.",
            field="phone",
        )
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        raise BadInput(f"phone {raw!r} has the wrong number of digits.", field="phone")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return e164, number.extension or None


def _international(raw: str) -> phonenumbers.PhoneNumber | None:
    """A number dialled with 00 before its country code, as most of the world writes it.

    Read in a country whose own prefix differs (011 in the US, 00 plus a carrier in
    Brazil), "0044 20 …" would become a national number that does not exist.
    """
    if not raw.startswith("00"):
        return None
    try:
        number = phonenumbers.parse("+" + raw[2:], None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _unreadable(raw: str, country: str | None, exc: phonenumbers.NumberParseException) -> str:
    if exc.error_type != phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        return f"phone {raw!r} is not a phone number."
    if raw.startswith("+"):
        return f"phone {raw!r} starts with a country code that does not exist."
    return (
        f"phone {raw!r} has no country code and {country!r} is not a country to read it in; "
        "write it as +<country code> <number>."
    )


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


def country_code(value: str | None, field: str = "country") -> str | None:
    """An ISO 3166 country code, upper-cased; BadInput unless it names a real country."""
    code = iso_code(value, 2, field, "BR")
    if code is not None and code not in COUNTRIES:
        raise BadInput(
            f"{field} {code!r} is not an ISO 3166 country code such as 'BR' or 'PT'.",
            field=field,
        )
    return code
