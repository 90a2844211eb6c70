"""The words a lead can be found by: its name, company, email and phone, one row per word.

Rows are kept by a session listener whenever a lead is written with new search fields, so
every writer (intake, import, the demo) keeps them without knowing about search. A search
matches each word the manager typed as a prefix of a stored word, through the index on
``term`` (GLOB on SQLite, LIKE with pattern ops on PostgreSQL).
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata
from sqlalchemy import ForeignKey, Index, String, delete, event
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.orm.attributes import get_history

from backend.db import Base
from backend.inserts import after_insert_new, insert_rows
from backend.pursuit.models import Lead

SEARCHED = ("first_name", "last_name", "company", "email", "phone")
TERM_LENGTH = 64
WORD = re.compile(r"[\W_]+")


class LeadSearchTerm(Base):
    __tablename__ = "lead_search_terms"
    __table_args__ = (
        Index("ix_lead_search_terms_term", "term", postgresql_ops={"term": "varchar_pattern_ops"}),
    )

    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id"), primary_key=True)
    term: Mapped[str] = mapped_column(String(TERM_LENGTH), primary_key=True)


def fold(text: str) -> str:
    """Lower case without accents, so ``José`` is found by ``jose``."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str | None) -> list[str]:
    return [w[:TERM_LENGTH] for w in WORD.split(fold(text or "")) if w]


def phone_words(phone: str | None) -> set[str]:
    """The number's digits with and without the country code: ``5511991234567``, ``11991234567``."""
    if not phone:
        return set()
    if (national := _plain_national_number(phone)) is not None:
        return {phone[1:], national}
    found = {"".join(c for c in phone if c.isdigit())}
    with contextlib.suppress(phonenumbers.NumberParseException):
        found.add(str(phonenumbers.parse(phone, None).national_number))
    return {w for w in found if w}


# Intake stores E.164. Five to fifteen digits (E.164's most) leave a national part of 2 to
# 14 digits after any country code, inside the 2 to 17 that phonenumbers.parse accepts.
PLAIN_E164 = re.compile(r"\+[0-9]{5,15}")


def _plain_national_number(phone: str) -> str | None:
    """``str(phonenumbers.parse(phone, None).national_number)`` for a plain E.164 number,
    read from phonenumbers' tables without a full parse; None for anything else, or where
    parse could strip a national prefix written after the country code."""
    if not PLAIN_E164.fullmatch(phone) or (code := _country_code(phone[1:])) is None:
        return None
    metadata = _metadata(code)
    if metadata is None:
        return None
    national = phone[1 + len(str(code)) :]
    prefix = metadata.national_prefix_for_parsing
    if prefix and (found := re.match(prefix, national)) and not _empty_prefix(found):
        return None
    # The national number is an integer to phonenumbers: Italy's leading zero goes.
    return str(int(national))


def _country_code(digits: str) -> int | None:
    """The shortest known country code the digits start with, as parse finds it."""
    if digits.startswith("0"):
        return None
    for length in range(1, 4):
        if (code := int(digits[:length])) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code
    return None


@functools.cache
def _metadata(country_code: int) -> PhoneMetadata | None:
    """What parse reads a number of this country code by: its main region's metadata."""
    region = phonenumbers.region_code_for_country_code(country_code)
    return PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)


def _empty_prefix(found: re.Match[str]) -> bool:
    """A prefix pattern that matched nothing, capturing nothing: parse keeps the number."""
    groups = found.groups()
    return found.end() == 0 and bool(groups) and all(g is None for g in groups)


def lead_terms(fields: dict[str, Any]) -> set[str]:
    terms = {
        w for key in ("first_name", "last_name", "company", "email") for w in words(fields.get(key))
    }
    return terms | phone_words(fields.get("phone"))


def _changed(lead: Lead) -> bool:
    return any(get_history(lead, key).has_changes() for key in SEARCHED)


@event.listens_for(Session, "before_flush")
def _keep_terms(session: Session, _context: Any, _instances: Iterable[Any] | None) -> None:
    """New leads get their words; a lead whose searched fields changed gets them anew."""
    new = [obj for obj in session.new if isinstance(obj, Lead)]
    changed = [obj for obj in session.dirty if isinstance(obj, Lead) and _changed(obj)]
    if not new and not changed:
        return
    pending = session.info.setdefault("search_terms", {"new": [], "changed": []})
    pending["new"].extend(new)
    pending["changed"].extend(changed)


@event.listens_for(Session, "after_flush")
def _write_terms(session: Session, _context: Any) -> None:
    pending = session.info.pop("search_terms", None)
    if not pending:
        return
    if pending["changed"]:
        renewed = [lead.id for lead in pending["changed"]]
        delete_terms = delete(LeadSearchTerm).where(LeadSearchTerm.lead_id.in_(renewed))
        session.connection().execute(delete_terms)
    _insert_terms(session, pending["new"] + pending["changed"])


@after_insert_new
def _terms_of_inserted(session: Session, objects: Sequence[Any]) -> None:
    _insert_terms(session, [obj for obj in objects if isinstance(obj, Lead)])


def _insert_terms(session: Session, leads: list[Lead]) -> None:
    rows = [
        {"lead_id": lead.id, "term": term}
        for lead in leads
        for term in sorted(lead_terms({key: getattr(lead, key) for key in SEARCHED}))
    ]
    insert_rows(session.connection(), LeadSearchTerm, rows)


# The leads list pages newest first, with or without a status, by these keys alone.
Index("ix_leads_received_id", Lead.received_at, Lead.id)
Index("ix_leads_status_received_id", Lead.status, Lead.received_at, Lead.id)
