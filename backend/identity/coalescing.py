"""Coalescing: finding the open lead a repeat inquiry belongs to, and undoing it by hand.

Each inquiry is filed in ``prospect_keys`` under its email key, phone key and name
blocks (folded name + company word, folded name + postal code). A lookup reads only the
rows under the new inquiry's own keys within the window, then rapidfuzz scores names.
Precision comes first: a wrong merge hides a lead, a missed one only repeats an offer.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import and_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity.keys import ProspectKeys, prospect_keys
from backend.identity.models import ProspectKey

logger = logging.getLogger(__name__)

WINDOW_ENV = "PURSUIT_COALESCE_WINDOW_DAYS"
DEFAULT_WINDOW_DAYS = 30.0
MAX_WINDOW_DAYS = 3650.0
EXACT_KINDS = ("email", "phone")
# Name parts by Jaro-Winkler similarity: at least SAME_NAME counts as the same name,
# below OTHER_NAME as another person ("Anna"/"Peter"), between as a likely typo.
SAME_NAME, OTHER_NAME = 0.92, 0.75
SAME_COMPANY = 90.0  # rapidfuzz token-set ratio of the folded, suffix-free company names
SAME_CITY = 0.9
# Points of evidence; a person matches at MATCH_POINTS: a same name and one more agreeing
# fact (the other name, nearly; the company; the postal code; the city).
NAME_POINTS, NEAR_NAME_POINTS = 3.0, 2.0
COMPANY_POINTS, POSTAL_POINTS, CITY_POINTS, OTHER_CITY_POINTS = 3.0, 3.0, 3.0, -1.0
MATCH_POINTS = 5.5
SCORE_DIGITS = 3


def window() -> timedelta:
    """How far back a repeat inquiry joins an open lead; ``PURSUIT_COALESCE_WINDOW_DAYS``.

    Read on every intake, so a changed setting applies without a restart. A value that
    is not a number of days from 0 to 3650 is ignored with a warning: intake must not
    refuse inquiries over a setting.
    """
    raw = os.environ.get(WINDOW_ENV) or ""
    try:
        days = float(raw) if raw else DEFAULT_WINDOW_DAYS
    except ValueError:
        days = -1.0
    if not 0 <= days <= MAX_WINDOW_DAYS:
        logger.warning(
            "coalescing window ignored setting=%s days=%s", WINDOW_ENV, DEFAULT_WINDOW_DAYS
        )
        days = DEFAULT_WINDOW_DAYS
    return timedelta(days=days)


def keys_of(fields: dict[str, Any]) -> ProspectKeys:
    """The matching keys of an inquiry's normalized fields."""
    return prospect_keys(
        email=fields.get("email"),
        phone=fields.get("phone"),
        phone_extension=fields.get("phone_extension"),
        first_name=fields.get("first_name"),
        last_name=fields.get("last_name"),
        company=fields.get("company"),
        postal_code=fields.get("postal_code"),
        city=fields.get("city"),
        country=fields.get("country"),
    )


@dataclass
class Match:
    """One stored lead the inquiry's prospect is behind, and why we think so."""

    lead_id: str
    received_at: datetime
    keys: list[str] = field(default_factory=list)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return any(kind in EXACT_KINDS for kind in self.keys)

    def evidence(self) -> dict[str, Any]:
        return {"lead_id": self.lead_id, "keys": sorted(self.keys), "scores": self.scores}


def file_rows(
    keys: ProspectKeys, lead_id: str, inquiry_id: str | None, received_at: datetime
) -> list[dict[str, Any]]:
    """The prospect_keys rows that file one inquiry under each of its keys."""
    return [
        {
            "kind": kind,
            "key": key,
            "lead_id": lead_id,
            "inquiry_id": inquiry_id,
            "received_at": received_at,
            "first_name": keys.first_name,
            "last_name": keys.last_name,
            "company": keys.company,
            "postal_code": keys.postal_code,
            "city": keys.city,
        }
        for kind, key in keys.blocks()
    ]


def file_keys(
    session: AsyncSession,
    keys: ProspectKeys,
    lead_id: str,
    inquiry_id: str | None,
    received_at: datetime,
) -> None:
    session.add_all(ProspectKey(**row) for row in file_rows(keys, lead_id, inquiry_id, received_at))


async def lock_keys(session: AsyncSession, keys: ProspectKeys) -> None:
    """Take the prospect's keys in turn with other intakes, so two first inquiries from one
    new prospect arriving together still make one lead. SQLite writers already take turns."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for kind, key in sorted(keys.blocks()):
        digest = hashlib.blake2b(f"{kind}\x00{key}".encode(), digest_size=8).digest()
        number = int.from_bytes(digest, "big", signed=True)
        await session.execute(text("SELECT pg_advisory_xact_lock(:n)"), {"n": number})


async def find_prospects(
    session: AsyncSession,
    keys: ProspectKeys,
    since: datetime,
    exclude_lead_id: str | None = None,
) -> list[Match]:
    """Leads filed since ``since`` under the same prospect, best evidence first."""
    blocks = keys.blocks()
    if not blocks:
        return []
    query = select(
        ProspectKey.kind,
        ProspectKey.lead_id,
        ProspectKey.received_at,
        ProspectKey.first_name,
        ProspectKey.last_name,
        ProspectKey.company,
        ProspectKey.postal_code,
        ProspectKey.city,
    ).where(
        or_(*(and_(ProspectKey.kind == kind, ProspectKey.key == key) for kind, key in blocks)),
        ProspectKey.received_at >= since,
    )
    rows = (await session.execute(query)).tuples().all()

    found: dict[str, Match] = {}
    for kind, lead_id, received_at, *fields in rows:
        if lead_id == exclude_lead_id:
            continue
        scores = _scores(keys, kind, Filed(*fields))
        if scores is None:
            continue
        match = found.setdefault(lead_id, Match(lead_id, received_at))
        match.received_at = max(match.received_at, received_at)
        if kind not in match.keys:
            match.keys.append(kind)
        match.scores.update(scores)
    await _drop_contradicted(session, keys, found)
    return sorted(found.values(), key=lambda m: (m.exact, m.received_at), reverse=True)


@dataclass(frozen=True)
class Filed:
    """The folded fields a prospect_keys row carries."""

    first_name: str
    last_name: str
    company: str
    postal_code: str
    city: str


def _scores(keys: ProspectKeys, kind: str, filed: Filed) -> dict[str, float] | None:
    """What makes the filed prospect the inquiry's; None when it is not strong enough."""
    if kind in EXACT_KINDS:
        # One mailbox or number with clearly different names is shared (a family, a front
        # desk), not one prospect: merging them would hide a lead.
        names = name_scores(keys, filed)
        return {} if names is not None else None
    if kind == "company_postal":
        # With no person to compare, the whole company name has to agree, not a part of it.
        company = fuzz.token_sort_ratio(keys.company, filed.company)
        return {"company": round(company, 1)} if company >= SAME_COMPANY else None
    return person_scores(keys, filed)


def name_scores(keys: ProspectKeys, filed: Filed) -> dict[str, float] | None:
    """Jaro-Winkler similarity of the name parts both give, allowing first and last
    swapped; None when a part clearly names someone else."""
    mine, theirs = (keys.first_name, keys.last_name), (filed.first_name, filed.last_name)
    straight, swapped = _similarities(mine, theirs), _similarities(mine, theirs[::-1])
    best = max(straight, swapped, key=lambda found: min(found.values(), default=-1.0))
    if best and min(best.values()) < OTHER_NAME:
        return None
    return {label: round(value, SCORE_DIGITS) for label, value in best.items()}


def _similarities(mine: tuple[str, str], theirs: tuple[str, str]) -> dict[str, float]:
    labels = ("first_name", "last_name")
    return {
        label: JaroWinkler.similarity(a, b)
        for label, a, b in zip(labels, mine, theirs, strict=True)
        if a and b
    }


def person_scores(keys: ProspectKeys, filed: Filed) -> dict[str, float] | None:
    """Points for a name match backed by company, postal code or city; None below the bar."""
    names = name_scores(keys, filed)
    if not names or max(names.values()) < SAME_NAME:
        return None
    points = sum(NAME_POINTS if v >= SAME_NAME else NEAR_NAME_POINTS for v in names.values())
    scores = dict(names)
    if keys.company and filed.company:
        company = fuzz.token_set_ratio(keys.company, filed.company)
        if company < SAME_COMPANY:
            return None  # the same name at another company is another person
        points += COMPANY_POINTS
        scores["company"] = round(company, 1)
    if keys.postal_code and keys.postal_code == filed.postal_code:
        points += POSTAL_POINTS
        scores["postal_code"] = 1.0
    if keys.city and filed.city:
        city = JaroWinkler.similarity(keys.city, filed.city)
        points += CITY_POINTS if city >= SAME_CITY else OTHER_CITY_POINTS
        scores["city"] = round(city, SCORE_DIGITS)
    return {**scores, "points": points} if points >= MATCH_POINTS else None


async def _drop_contradicted(
    session: AsyncSession, keys: ProspectKeys, found: dict[str, Match]
) -> None:
    """A match on names alone loses when the lead has another email or phone than the inquiry."""
    loose = [m.lead_id for m in found.values() if not m.exact]
    asked = [(kind, own) for kind, own in (("email", keys.email), ("phone", keys.phone)) if own]
    if not loose or not asked:
        return
    query = select(ProspectKey.lead_id, ProspectKey.kind, ProspectKey.key).where(
        ProspectKey.lead_id.in_(loose), ProspectKey.kind.in_([kind for kind, _ in asked])
    )
    known: dict[tuple[str, str], set[str]] = {}
    for lead_id, kind, key in (await session.execute(query)).tuples().all():
        known.setdefault((lead_id, kind), set()).add(key)
    for lead_id in loose:
        for kind, own in asked:
            theirs = known.get((lead_id, kind))
            if theirs and own not in theirs:
                found.pop(lead_id, None)
                break


async def move_keys(
    session: AsyncSession, from_lead_id: str, to_lead_id: str, inquiry_id: str | None = None
) -> None:
    """Refile one inquiry's keys (or, without ``inquiry_id``, a whole lead's) to another lead."""
    query = update(ProspectKey).where(ProspectKey.lead_id == from_lead_id)
    if inquiry_id is not None:
        query = query.where(ProspectKey.inquiry_id == inquiry_id)
    await session.execute(query.values(lead_id=to_lead_id))
