"""Leads from a CSV file: the Olist MQL export, or any file whose headers name lead fields.

Parsing saves nothing. Each good row becomes a lead body as ``POST /api/v1/leads``
takes it; each bad row becomes a ``RowError`` naming its spreadsheet row (the
header is row 1). Values stay strings except ``value`` (a number) and
``received_at`` (an ISO 8601 string in UTC), so postal codes and phone numbers
keep their leading zeros.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from backend.errors import BadInput
from backend.intake import olist

logger = logging.getLogger(__name__)

LEAD_KEYS = (
    "source", "external_id", "first_name", "last_name", "email", "phone", "company",
    "country", "region", "postal_code", "product", "language", "message", "campaign",
    "value", "currency", "received_at",
)  # fmt: skip

ALIASES = {
    "e_mail": "email", "email_address": "email", "mail": "email",
    "zip": "postal_code", "zip_code": "postal_code", "zipcode": "postal_code",
    "postcode": "postal_code", "post_code": "postal_code", "postal": "postal_code",
    "cep": "postal_code",
    "firstname": "first_name", "given_name": "first_name",
    "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "telephone": "phone", "phone_number": "phone", "mobile": "phone", "tel": "phone",
    "company_name": "company", "organization": "company", "organisation": "company",
    "state": "region", "province": "region",
    "lang": "language", "comment": "message", "comments": "message", "notes": "message",
    "amount": "value", "utm_source": "source", "utm_campaign": "campaign",
    "id": "external_id", "created_at": "received_at", "submitted_at": "received_at",
}  # fmt: skip

RowMapper = Callable[[dict[str, str]], dict[str, Any]]

DEFAULT_SOURCE = "csv"
CONTACT_KEYS = ("first_name", "last_name", "company", "email", "phone")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class RowError:
    row: int
    message: str

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}"


@dataclass
class ImportBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)


def lead_key(header: str) -> str | None:
    """The lead field a column header names, ignoring case, spaces, dashes, dots."""
    name = re.sub(r"[\s.\-]+", "_", header.strip().lower()).strip("_")
    if name in LEAD_KEYS:
        return name
    return ALIASES.get(name)


def parse_csv(path: Path, *, default_source: str = DEFAULT_SOURCE) -> ImportBatch:
    """Map each row of a UTF-8 CSV (BOM optional) to a lead body, collecting errors.

    Raises ``BadInput`` when the file is not UTF-8 text or has no header.
    """
    records = _read_records(path)
    header = next(records, None)
    if header is None or not any(name.strip() for name in header):
        raise BadInput(f"{path.name} has no header row.", file=path.name)

    if olist.is_mql_header(header):
        columns, to_body = _olist_columns(header), _olist_body
    else:
        columns, to_body = _lead_columns(header), partial(_generic_body, default_source)
    batch = _map_rows(records, header, columns, to_body)

    logger.info(
        "csv parsed file=%s rows=%d errors=%d unmapped=%d",
        path.name, len(batch.rows), len(batch.errors), len(batch.unmapped_columns),
    )  # fmt: skip
    return batch


def _read_records(path: Path) -> Iterator[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"{path.name} is not UTF-8 text (bad byte at offset {exc.start})."
        raise BadInput(message, file=path.name) from exc
    return csv.reader(io.StringIO(text, newline=""))


def _olist_columns(header: list[str]) -> dict[int, str]:
    return {index: name.strip().lower() for index, name in enumerate(header)}


def _lead_columns(header: list[str]) -> dict[int, str]:
    """Column index to lead key; a second column naming a taken key stays unmapped."""
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        key = lead_key(name)
        if key is not None and key not in columns.values():
            columns[index] = key
    return columns


def _unmapped(header: list[str], columns: dict[int, str]) -> list[str]:
    return [
        name or f"column {index + 1} (no header)"
        for index, name in enumerate(header)
        if index not in columns
    ]


def _map_rows(
    records: Iterator[list[str]],
    header: list[str],
    columns: dict[int, str],
    to_body: RowMapper,
) -> ImportBatch:
    batch = ImportBatch(unmapped_columns=_unmapped(header, columns))
    for number, record in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(header):
            message = f"has {len(record)} fields but the header has {len(header)}."
            batch.errors.append(RowError(number, message))
            continue

        padded = record + [""] * (len(header) - len(record))
        try:
            batch.rows.append(to_body({key: padded[i] for i, key in columns.items()}))
        except ValueError as exc:
            batch.errors.append(RowError(number, str(exc)))
    return batch


def _olist_body(fields: dict[str, str]) -> dict[str, Any]:
    if not fields["mql_id"].strip():
        raise ValueError("mql_id is empty.")
    try:
        return olist.lead_body(fields)
    except ValueError as exc:
        date = fields["first_contact_date"]
        raise ValueError(f"first_contact_date {date!r} is not a YYYY-MM-DD date.") from exc


def _generic_body(default_source: str, fields: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = {k: v.strip() for k, v in fields.items() if v.strip()}
    body.setdefault("source", default_source)
    if "value" in body:
        body["value"] = _number(body["value"])
    if "received_at" in body:
        body["received_at"] = _utc_iso(body["received_at"])
    _check_codes(body)

    if not any(key in body for key in CONTACT_KEYS):
        raise ValueError("has no name, company, email or phone to pursue.")
    return body


def _number(text: str) -> float:
    """A plain decimal number; thousands separators are refused as ambiguous."""
    if not NUMBER.fullmatch(text):
        raise ValueError(f"value {text!r} is not a number like 1234.50.")
    return float(text)


def _utc_iso(text: str) -> str:
    """ISO 8601 date or date-time as a UTC string; no offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"received_at {text!r} is not an ISO 8601 time.") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _check_codes(body: dict[str, Any]) -> None:
    """Country and currency must be ISO codes; they are upper-cased in place."""
    for key, length in (("country", 2), ("currency", 3)):
        if key not in body:
            continue
        code = body[key].upper()
        if len(code) != length or not code.isascii() or not code.isalpha():
            raise ValueError(f"{key} {body[key]!r} is not a {length}-letter ISO code.")
        body[key] = code
