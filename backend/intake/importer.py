"""Leads from a CSV file: the Olist MQL export, or any file whose headers name lead fields.

Parsing saves nothing. Each good row becomes a lead body as ``POST /api/v1/leads``
takes it; each bad row becomes a ``RowError`` naming its spreadsheet row (the
header is row 1). Values stay strings except ``value`` (a number) and
``received_at`` (an ISO 8601 string in UTC), so postal codes and phone numbers
keep their leading zeros.

Files come from spreadsheets of every vintage: UTF-8 with or without a byte-order
mark, UTF-16 with one, else Windows-1252 (which reads Latin-1 too); comma, semicolon
or tab between fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from backend.errors import BadInput, Conflict
from backend.identity.service import COUNTRIES
from backend.intake import olist

logger = logging.getLogger(__name__)

LEAD_KEYS = (
    "source", "external_id", "first_name", "last_name", "email", "phone", "company",
    "country", "region", "city", "postal_code", "address", "product", "language", "message",
    "campaign", "value", "currency", "received_at", "name",
)  # fmt: skip

ALIASES = {
    "e_mail": "email", "email_address": "email", "mail": "email",
    "zip": "postal_code", "zip_code": "postal_code", "zipcode": "postal_code",
    "postcode": "postal_code", "post_code": "postal_code", "postal": "postal_code",
    "cep": "postal_code",
    "street": "address", "street_address": "address", "address_line_1": "address",
    "address_line1": "address", "address1": "address", "address_1": "address",
    "street_line": "address", "endereco": "address", "direccion": "address",
    "firstname": "first_name", "given_name": "first_name",
    "lastname": "last_name", "surname": "last_name", "family_name": "last_name",
    "telephone": "phone", "phone_number": "phone", "mobile": "phone", "tel": "phone",
    "company_name": "company", "organization": "company", "organisation": "company",
    "state": "region", "province": "region",
    "lang": "language", "comment": "message", "comments": "message", "notes": "message",
    "amount": "value", "utm_source": "source", "utm_campaign": "campaign",
    "id": "external_id", "created_at": "received_at", "submitted_at": "received_at",
    "full_name": "name", "contact_name": "name", "contact": "name",
    "e_mail_address": "email", "emailaddress": "email", "correo": "email",
    "phone_no": "phone", "mobile_phone": "phone", "cell": "phone", "cell_phone": "phone",
    "zip_postal_code": "postal_code", "postal_code_zip": "postal_code", "plz": "postal_code",
    "company_account": "company", "account": "company", "account_name": "company",
    "town": "city", "message_body": "message", "description": "message",
    "nome": "name", "nome_completo": "name", "primeiro_nome": "first_name",
    "sobrenome": "last_name", "telefone": "phone", "celular": "phone", "fone": "phone",
    "whatsapp": "phone", "empresa": "company", "razao_social": "company", "cidade": "city",
    "estado": "region", "uf": "region", "pais": "country", "mensagem": "message",
    "produto": "product", "idioma": "language", "codigo_postal": "postal_code",
    "nombre": "name", "apellido": "last_name", "telefono": "phone", "ciudad": "city",
}  # fmt: skip
# A lead field with the first and last name in one cell.
FULL_NAME = "name"
SNIFF_BYTES = 64 * 1024
DELIMITERS = ",;\t"
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

RowMapper = Callable[[dict[str, str]], dict[str, Any]]

DEFAULT_SOURCE = "csv"
# The cell a row with more fields than its header keeps the surplus under.
EXTRA_FIELDS = "(extra fields)"
# The cell marking a row whose quote never closed, swallowing the rows after it.
UNCLOSED_QUOTE = "(unclosed quote)"
CONTACT_KEYS = ("first_name", "last_name", "company", "email", "phone")
SEPARATOR_LINE = re.compile(r"sep=([,;\t|])", re.IGNORECASE)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


@dataclass(frozen=True)
class RowError:
    row: int
    message: str
    cells: dict[str, str] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return f"Row {self.row}: {self.message}"


@dataclass
class ImportBatch:
    """Parsed rows: ``rows[i]`` is spreadsheet row ``row_numbers[i]``, read from ``cells[i]``."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    cells: list[dict[str, str]] = field(default_factory=list)
    mapping: list[tuple[str, str | None]] = field(default_factory=list)
    encoding: str = "utf-8"
    delimiter: str = ","
    default_source: str = DEFAULT_SOURCE
    default_country: str | None = None
    field_map: dict[str, str] = field(default_factory=dict)

    @property
    def delimiter_name(self) -> str:
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def fold(text: str) -> str:
    """Lower case without accents: "Telefone", "TELÉFONO" and "telefono" read alike."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def lead_key(header: str) -> str | None:
    """The lead field a column header names, ignoring case, accents, spaces, dashes, dots."""
    name = re.sub(r"[\s.\-/()]+", "_", fold(header)).strip("_")
    if name in LEAD_KEYS:
        return name
    return ALIASES.get(name)


def parse_csv(
    path: Path,
    *,
    default_source: str = DEFAULT_SOURCE,
    field_map: dict[str, str] | None = None,
    default_country: str | None = None,
) -> ImportBatch:
    """Map each row of a CSV file to a lead body, collecting errors.

    Raises ``BadInput`` when the file is not text or has no header.
    """
    return parse_csv_bytes(
        path.read_bytes(),
        path.name,
        default_source=default_source,
        field_map=field_map,
        default_country=default_country,
    )


def parse_csv_bytes(
    content: bytes,
    name: str,
    *,
    default_source: str = DEFAULT_SOURCE,
    field_map: dict[str, str] | None = None,
    default_country: str | None = None,
) -> ImportBatch:
    """``parse_csv`` for a file's bytes; ``field_map`` names headers the aliases do not know.

    ``default_country`` is the country of rows without one, so national phone numbers parse.
    """
    text, encoding = decode(content, name)
    text, delimiter = excel_separator(text) or (text, sniff_delimiter(text))
    records = read_records(text, delimiter)
    header = next((record for record, _ in records), None)
    if header is None or not any(cell.strip() for cell in header):
        raise BadInput(f"{name} has no header row.", file=name)

    if olist.is_mql_header(header):
        columns, to_body = _olist_columns(header), _olist_body
    else:
        columns = _lead_columns(header, field_map or {})
        to_body = partial(_generic_body, default_source, default_country)
    batch = _map_rows(records, header, columns, to_body)
    batch.encoding, batch.delimiter, batch.default_source = encoding, delimiter, default_source
    batch.default_country, batch.field_map = default_country, field_map or {}
    batch.mapping = [(cell, columns.get(index)) for index, cell in enumerate(header)]

    logger.info(
        "csv parsed file=%s rows=%d errors=%d unmapped=%d",
        name, len(batch.rows), len(batch.errors), len(batch.unmapped_columns),
    )  # fmt: skip
    return batch


def decode(content: bytes, name: str) -> tuple[str, str]:
    """The file's text and the encoding it was read with; BOMs first, then strict UTF-8."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if content.startswith(bom):
            return _strict(content, encoding, name), encoding
    try:
        return content.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    if b"\x00" in content[:SNIFF_BYTES]:
        raise BadInput(f"{name} is not a text file (it contains NUL bytes).", file=name)
    # Detectors misread short Western files as Central European (São becomes Săo), and a
    # spreadsheet that is not UTF-8 is Windows-1252 (a superset of Latin-1) far more often.
    return content.decode("cp1252", errors="replace"), "cp1252"


def _strict(content: bytes, encoding: str, name: str) -> str:
    try:
        return content.decode(encoding)
    except UnicodeDecodeError as exc:
        message = f"{name} starts as {encoding} but has a bad byte at offset {exc.start}."
        raise BadInput(message, file=name) from exc


def excel_separator(text: str) -> tuple[str, str] | None:
    """The rest of the text and the delimiter a ``sep=;`` first line, as Excel writes, names."""
    first, _, rest = text.partition("\n")
    found = SEPARATOR_LINE.fullmatch(first.rstrip("\r"))
    return (rest, found.group(1)) if found else None


def read_records(text: str, delimiter: str) -> Iterator[tuple[list[str], int]]:
    """Each record, and how many lines a quote that never closes swallowed (else 0).

    A record over several lines whose lines hold an odd number of quotes opened a quoted
    field that ran on to the end of the file, taking every row after it.
    """
    lines = LINE_BREAK.split(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    end = 0
    for record in reader:
        start, end = end, reader.line_num
        spanned = lines[start:end]
        unclosed = len(spanned) > 1 and "\n".join(spanned).count('"') % 2 == 1
        yield record, (len(spanned) - 1 if unclosed else 0)


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, judged from the header line; comma when it is unclear."""
    header = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(header, delimiters=DELIMITERS).delimiter
    except csv.Error:
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def _olist_columns(header: list[str]) -> dict[int, str]:
    return {index: name.strip().lower() for index, name in enumerate(header)}


def _lead_columns(header: list[str], field_map: dict[str, str]) -> dict[int, str]:
    """Column index to lead key; a second column naming a taken key stays unmapped."""
    folded = {fold(name): key for name, key in field_map.items()}
    columns: dict[int, str] = {}
    for index, name in enumerate(header):
        key = folded.get(fold(name)) or lead_key(name)
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
    records: Iterator[tuple[list[str], int]],
    header: list[str],
    columns: dict[int, str],
    to_body: RowMapper,
) -> ImportBatch:
    batch = ImportBatch(unmapped_columns=_unmapped(header, columns))
    names = [name or f"column {index + 1}" for index, name in enumerate(header)]
    for number, (record, swallowed) in enumerate(records, start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = dict(zip(names, record, strict=False))
        if len(record) > len(header):
            cells[EXTRA_FIELDS] = "; ".join(record[len(header) :])
        if swallowed:
            cells[UNCLOSED_QUOTE] = f"{swallowed} lines"
            message = (
                f"opens a quote that never closes, so the {swallowed} lines after it were "
                "read as one field; close the quote and import the file again."
            )
            batch.errors.append(RowError(number, message, cells))
            continue
        if len(record) > len(header):
            message = f"has {len(record)} fields but the header has {len(header)}."
            batch.errors.append(RowError(number, message, cells))
            continue

        padded = record + [""] * (len(header) - len(record))
        try:
            body = to_body({key: padded[i] for i, key in columns.items()})
            check_intake(body)
        except ValueError as exc:
            batch.errors.append(RowError(number, str(exc), cells))
            continue
        batch.rows.append(body)
        batch.row_numbers.append(number)
        batch.cells.append(cells)
    return batch


def check_intake(body: dict[str, Any]) -> None:
    """Refuse, as ``ValueError``, a row intake would refuse: a bad email, an impossible phone."""
    from backend.intake.inquiries import lead_in
    from backend.intake.service import normalize

    try:
        normalize(lead_in(body))
    except BadInput as exc:
        raise ValueError(_row_sentence(exc.message)) from exc


def _row_sentence(message: str) -> str:
    return message if message.endswith(".") else f"{message}."


def row_body(
    cells: dict[str, str],
    default_source: str,
    default_country: str | None = None,
    field_map: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One stored row's cells, by header, as a lead body again; BadInput when it is refused.

    A row refused for its shape stays refused: which value belongs to which column is
    lost, so only the corrected row, imported again, can become a lead.
    """
    if EXTRA_FIELDS in cells:
        raise Conflict(
            f"The row has more fields than the header's {len(cells) - 1} columns, so a retry "
            "cannot tell which value belongs to which column; the row itself must be "
            "corrected and imported again."
        )
    if UNCLOSED_QUOTE in cells:
        raise Conflict(
            "The row opens a quote that never closes, so its fields hold the rows after it; "
            "the row itself must be corrected and imported again."
        )
    header = list(cells)
    columns = _lead_columns(header, field_map or {})
    try:
        fields = {key: cells[header[i]] for i, key in columns.items()}
        return _generic_body(default_source, default_country, fields)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc


def _olist_body(fields: dict[str, str]) -> dict[str, Any]:
    if not fields["mql_id"].strip():
        raise ValueError("mql_id is empty.")
    try:
        return olist.lead_body(fields)
    except ValueError as exc:
        date = fields["first_contact_date"]
        raise ValueError(f"first_contact_date {date!r} is not a YYYY-MM-DD date.") from exc


def _generic_body(
    default_source: str, default_country: str | None, fields: dict[str, str]
) -> dict[str, Any]:
    body: dict[str, Any] = {k: v.strip() for k, v in fields.items() if v.strip()}
    body.setdefault("source", default_source)
    if default_country:
        body.setdefault("country", default_country)
    if FULL_NAME in body:
        first, _, rest = body.pop(FULL_NAME).partition(" ")
        body.setdefault("first_name", first)
        if rest.strip():
            body.setdefault("last_name", rest.strip())
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
    from backend.intake.service import check_received_at

    try:
        moment = check_received_at(moment, datetime.now(UTC))
    except BadInput as exc:
        raise ValueError(exc.message) from exc
    return moment.astimezone(UTC).isoformat()


def _check_codes(body: dict[str, Any]) -> None:
    """Country and currency must be ISO codes; they are upper-cased in place."""
    for key, length in (("country", 2), ("currency", 3)):
        if key not in body:
            continue
        code = body[key].upper()
        if len(code) != length or not code.isascii() or not code.isalpha():
            raise ValueError(f"{key} {body[key]!r} is not a {length}-letter ISO code.")
        if key == "country" and code not in COUNTRIES:
            raise ValueError(f"country {code!r} is not an ISO 3166 country code such as 'BR'.")
        body[key] = code
