"""Coalescing: finding the open lead a repeat inquiry belongs to, and undoing it by hand.

Each inquiry is filed in ``prospect_keys`` under its email key, phone key and name
blocks (folded name + company word, postal code or city; the sound of a full name in the
postal district; the house number and street). A lookup reads only the rows under the
new inquiry's own keys within the window, then weighs the names, company, place and
street address as Fellegi-Sunter evidence.
Precision comes first: a wrong merge hides a lead, a missed one only repeats an offer.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein
from sqlalchemy import Select, and_, bindparam, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.identity.keys import (
    COMPASS_POINTS,
    Address,
    ProspectKeys,
    address_parts,
    prospect_keys,
    street_name,
)
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
# Street lines without their house numbers at least this alike name one street (see
# street_similarity); below it, the lines are other streets.
SAME_STREET = 0.8
SCORE_DIGITS = 3


def bits(m: float, u: float) -> float:
    """The Fellegi-Sunter weight of an outcome seen with rate m between inquiries of one
    prospect and rate u between inquiries of two: log2(m / u), rounded for the journey."""
    return round(math.log2(m / u), 2)


# Outcome rates (m, u) from how names and places are spread in any large population, not
# fitted to one data set: a first name is shared by about 1 pair of strangers in 70, a
# surname by 1 in 500, a postal code by 1 in 1,000; a typo'd value is rarer on both sides.
WEIGHTS = {
    ("first_name", "same"): bits(0.88, 0.015),
    ("first_name", "near"): bits(0.08, 0.01),
    ("last_name", "same"): bits(0.88, 0.002),
    ("last_name", "near"): bits(0.08, 0.003),
    ("company", "same"): bits(0.9, 0.001),
    ("postal_code", "same"): bits(0.9, 0.001),
    ("postal_code", "near"): bits(0.05, 0.006),
    ("postal_code", "other"): bits(0.05, 0.993),
    # A city says little more once the postal code agrees, and much when it does not.
    ("city", "same"): bits(0.9, 0.002),
    ("city", "other"): bits(0.1, 0.998),
    ("city", "same_postal"): bits(0.95, 0.9),
    ("city", "other_postal"): bits(0.05, 0.1),
    # About 1 home in 5,000 of a postal district shares a given house number and street;
    # another house number on the same street is the strongest sign of another home.
    ("address", "same"): bits(0.85, 0.0002),
    ("address", "near"): bits(0.1, 0.005),
    ("address", "other_number"): bits(0.05, 0.99),
    ("address", "other"): bits(0.1, 0.99),
}
# A full name needs an agreeing place or company besides (alone it is 14.65); one name
# part needs the exact postal code, or a surname the city.
MATCH_BITS = 15.5


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
        address=fields.get("address"),
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

    @property
    def weight(self) -> float:
        return self.scores.get("weight", 0.0)

    @property
    def one_home(self) -> bool:
        """Joined as one household: two people, each with their own email and phone."""
        return bool(self.scores.get("one_home"))

    def rank(self) -> tuple[bool, float, datetime]:
        """Shared email or phone first, then the weightier evidence, then the latest."""
        return self.exact, self.weight, self.received_at

    def add(self, kind: str, received_at: datetime, scores: dict[str, float]) -> None:
        """One more filed inquiry of the lead; the scores kept are its best-evidenced one."""
        self.received_at = max(self.received_at, received_at)
        if kind not in self.keys:
            self.keys.append(kind)
        if not self.scores or scores.get("weight", 0.0) > self.weight:
            self.scores = scores

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
            "address": keys.address,
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
    params: dict[str, Any] = {"since": since}
    for i, (kind, key) in enumerate(blocks):
        params[f"kind_{i}"], params[f"key_{i}"] = kind, key
    await session.flush()
    connection = await session.connection()
    rows = (await connection.execute(_lookup(len(blocks)), params)).tuples().all()

    found: dict[str, Match] = {}
    scored: dict[tuple[str, Filed], dict[str, float] | None] = {}
    for kind, lead_id, received_at, *fields in rows:
        if lead_id == exclude_lead_id:
            continue
        # One inquiry comes back once per key it shares; its fields are scored once.
        filed, way = Filed(*fields), _comparison(kind)
        if (way, filed) not in scored:
            scored[way, filed] = _scores(keys, way, filed)
        scores = scored[way, filed]
        if scores is not None:
            found.setdefault(lead_id, Match(lead_id, received_at)).add(kind, received_at, scores)
    await _drop_contradicted(session, keys, found)
    return sorted(found.values(), key=Match.rank, reverse=True)


@cache
def _lookup(blocks: int) -> Select[tuple[Any, ...]]:
    """The indexed read of ``blocks`` (kind, key) pairs, built once per number of pairs:
    building and keying a statement anew costs several times what SQLite takes to run it."""
    pairs = (
        and_(ProspectKey.kind == bindparam(f"kind_{i}"), ProspectKey.key == bindparam(f"key_{i}"))
        for i in range(blocks)
    )
    return select(
        ProspectKey.kind,
        ProspectKey.lead_id,
        ProspectKey.received_at,
        ProspectKey.first_name,
        ProspectKey.last_name,
        ProspectKey.company,
        ProspectKey.postal_code,
        ProspectKey.city,
        ProspectKey.address,
    ).where(or_(*pairs), ProspectKey.received_at >= bindparam("since"))


@dataclass(frozen=True)
class Filed:
    """The folded fields a prospect_keys row carries."""

    first_name: str
    last_name: str
    company: str
    postal_code: str
    city: str
    address: str = ""


def _comparison(kind: str) -> str:
    """How a row found under ``kind`` is compared: as a shared contact, company or person."""
    return kind if kind in EXACT_KINDS or kind == "company_postal" else "person"


def _scores(keys: ProspectKeys, way: str, filed: Filed) -> dict[str, float] | None:
    """What makes the filed prospect the inquiry's; None when it is not strong enough."""
    if way in EXACT_KINDS:
        # One mailbox or number with clearly different names is shared (a family, a front
        # desk), not one prospect: merging them would hide a lead.
        names = name_scores(keys, filed)
        if names is None:
            return None
        # With nobody named, one number or mailbox at two street addresses is an
        # organisation's central line shared by its sites, each its own prospect.
        unnamed = not (keys.named or filed.first_name or filed.last_name)
        if unnamed and _address_level(keys, filed, {}) in ("other", "other_number"):
            return None
        return {}
    if way == "company_postal":
        # With no person to compare, the whole company name has to agree, not a part of it.
        company = fuzz.token_sort_ratio(keys.company, filed.company)
        return {"company": round(company, 1)} if company >= SAME_COMPANY else None
    return person_scores(keys, filed)


def name_scores(keys: ProspectKeys, filed: Filed) -> dict[str, float] | None:
    """Similarity of the name parts both give, allowing first and last swapped; None when
    a part clearly names someone else (a household shares a surname, not a first name)."""
    mine, theirs = (keys.first_name, keys.last_name), (filed.first_name, filed.last_name)
    fitting = [
        found
        for found in (_similarities(mine, theirs), _similarities(mine, theirs[::-1]))
        if found is not None
    ]
    if not fitting:
        return None
    best = max(fitting, key=lambda found: min(found.values(), default=-1.0))
    return {label: round(value, SCORE_DIGITS) for label, value in best.items()}


def _similarities(mine: tuple[str, str], theirs: tuple[str, str]) -> dict[str, float] | None:
    """Per name part both give, its similarity; None when a part names another person."""
    labels = ("first_name", "last_name")
    found = {}
    for label, a, b in zip(labels, mine, theirs, strict=True):
        if a and b:
            found[label] = similarity = name_similarity(a, b)
            if similarity < OTHER_NAME and not one_slip(a, b):
                return None
    return found


def name_similarity(a: str, b: str) -> float:
    """Jaro-Winkler of two folded names, also with their spaces dropped ("Braid En")."""
    joined = JaroWinkler.similarity(a.replace(" ", ""), b.replace(" ", ""))
    return max(JaroWinkler.similarity(a, b), joined)


def one_slip(a: str, b: str) -> bool:
    """Two letters swapped, or one left out or added, after the same first letter ("Sma",
    "Gs" for "Sam", "Gus"). One letter replaced is not a slip: "Tim" is not "Tom"."""
    if a[:1] != b[:1] or OSA.distance(a, b) != 1:
        return False
    return len(a) != len(b) or Levenshtein.distance(a, b) == 2


def may_be_one(keys: ProspectKeys, filed: Filed) -> bool:
    """Whether the names, or the one home both give, leave the two as one prospect: the
    test before any weighing."""
    if name_scores(keys, filed) is not None:
        return True
    return _one_home_names(keys, filed, _address_level(keys, filed, {})) is not None


def person_scores(keys: ProspectKeys, filed: Filed) -> dict[str, float] | None:
    """Similarities and their summed weight in bits for a name match backed by a company
    or a place; None below MATCH_BITS or when the names or companies tell people apart."""
    names, another = name_scores(keys, filed), ""
    if names is None and not (keys.address and filed.address):
        return None  # names of two people, and no home to join them: the common case
    scores: dict[str, float] = {}
    address = _address_level(keys, filed, scores)
    if names is None:
        names, another = _one_home_names(keys, filed, address) or ({}, "")
    elif max(names.values(), default=0.0) < SAME_NAME and address != "same":
        return None
    if not names:
        return None
    weight = sum(WEIGHTS[k, _name_level(v)] for k, v in names.items() if k != another)
    scores = {**names, **scores, **({"one_home": 1.0} if another else {})}
    if keys.company and filed.company:
        company = fuzz.token_set_ratio(keys.company, filed.company)
        if company < SAME_COMPANY:
            return None  # the same name at another company is another person
        weight += WEIGHTS["company", "same"]
        scores["company"] = round(company, 1)
    weight += _place_weight(keys, filed, scores)
    if address:
        weight += WEIGHTS["address", address]
    return {**scores, "weight": round(weight, 2)} if weight >= MATCH_BITS else None


def _one_home_names(
    keys: ProspectKeys, filed: Filed, address: str
) -> tuple[dict[str, float], str] | None:
    """Names that tell two people apart but count as one prospect at one home, and the
    part that differs (it weighs nothing); None when they stay two prospects.

    One surname at one street address, in one postal code (or one typo away), is a
    household, which one rep serves; so is one surname on one street where one line left
    out the house number, with the same postal code and city. One first name at one
    address under another surname (a married name) needs the postal code and the city.
    """
    mine, theirs = (keys.first_name, keys.last_name), (filed.first_name, filed.last_name)
    if address not in ("same", "near") or not all(mine + theirs):
        return None
    first, last = (
        round(name_similarity(a, b), SCORE_DIGITS) for a, b in zip(mine, theirs, strict=True)
    )
    if not _one_building(address_parts(keys.address), address_parts(filed.address)):
        return None
    postal = _postal_level(keys.postal_code, filed.postal_code) if keys.postal_code else ""
    city = name_similarity(keys.city, filed.city) if keys.city and filed.city else 0.0
    town = postal == "same" and city >= SAME_CITY
    if address == "near" and not (town and _unnumbered(keys, filed)):
        return None
    # A postal code one typo away is the same place only where the towns do not differ.
    other_town = bool(keys.city and filed.city) and city < OTHER_NAME
    local = postal == "same" or (postal == "near" and not other_town)
    if last >= SAME_NAME and first < OTHER_NAME and local:
        return {"first_name": first, "last_name": last}, "first_name"
    placed = (postal in ("same", "near") and city >= SAME_CITY) or (
        postal == "same" and not (keys.city and filed.city)
    )
    if first >= SAME_NAME and last < OTHER_NAME and placed:
        return {"first_name": first, "last_name": last}, "last_name"
    return None


def _one_building(mine: Address, theirs: Address) -> bool:
    """Street lines strict enough to join two people's names: the same flat (or neither
    names one), and no number in the street, or compass point beside one, that the other
    line contradicts ("W 14th" is not "E 14th" or "W 15th"; a line may leave a locality's
    number out); other words may differ by the typos the street comparison allows."""
    marks, others = _marks(mine.street), _marks(theirs.street)
    return mine.unit == theirs.unit and (marks <= others or others <= marks)


def _marks(street: str) -> frozenset[str]:
    words = street.split()
    numbered = [any(c.isdigit() for c in word) for word in words]
    beside = [
        word in COMPASS_POINTS and any(numbered[max(i - 1, 0) : i + 2])
        for i, word in enumerate(words)
    ]
    # A number's digits alone: "14th" is 14, and a letter typed into it changes nothing.
    return frozenset(
        "".join(filter(str.isdigit, w)) if n else w
        for w, n, b in zip(words, numbered, beside, strict=True)
        if n or b
    )


def _unnumbered(keys: ProspectKeys, filed: Filed) -> bool:
    """One of the two street lines gives no house number."""
    return not (address_parts(keys.address).number and address_parts(filed.address).number)


def _address_level(keys: ProspectKeys, filed: Filed, scores: dict[str, float]) -> str:
    """How two street addresses compare ("same", "near", "other_number", "other"), or ""
    when one is missing; the street's similarity and the house numbers' go in scores."""
    if not (keys.address and filed.address):
        return ""
    mine, theirs = address_parts(keys.address), address_parts(filed.address)
    if not (mine.street and theirs.street):
        return ""
    street = street_similarity(mine.street, theirs.street)
    scores["address"] = round(street, SCORE_DIGITS)
    numbered = bool(mine.number and theirs.number)
    swapped = numbered and _swapped(mine.number, theirs.number)
    if numbered:
        scores["house_number"] = 1.0 if mine.number == theirs.number else 0.5 if swapped else 0.0
    if street < SAME_STREET:
        return "other"
    if numbered and _one_home(mine, theirs):
        return "same"
    if not numbered or (swapped and mine.unit == theirs.unit):
        return "near"
    return "other_number"


def _swapped(a: str, b: str) -> bool:
    """Two neighbouring characters swapped ("32" and "23"), a slip rather than a neighbour."""
    return len(a) == len(b) and OSA.distance(a, b) == 1 and Levenshtein.distance(a, b) == 2


def _one_home(mine: Address, theirs: Address) -> bool:
    """The same house number, and the same flat when both name one."""
    return mine.number == theirs.number and not (
        mine.unit and theirs.unit and mine.unit != theirs.unit
    )


def street_similarity(a: str, b: str) -> float:
    """How alike two folded street lines are: as a whole, by the shorter's words found in
    the longer one (a line that leaves out the building or the district), or by the street
    itself up to its type word ("smith st" of "smith st rosebery hill")."""
    whole = fuzz.ratio(a.replace(" ", ""), b.replace(" ", "")) / 100
    shorter, longer = sorted((a.split(), b.split()), key=len)
    found = [max(JaroWinkler.similarity(w, o) for o in longer) for w in shorter]
    named = [street_name(a), street_name(b)]
    proper = fuzz.ratio(*named) / 100 if all(named) else 0.0
    return max(whole, sum(found) / len(found), proper)


def _name_level(similarity: float) -> str:
    return "same" if similarity >= SAME_NAME else "near"


def _place_weight(keys: ProspectKeys, filed: Filed, scores: dict[str, float]) -> float:
    """The weight of the postal codes and cities both give; their similarities go in scores."""
    weight, postal = 0.0, ""
    if keys.postal_code and filed.postal_code:
        postal = _postal_level(keys.postal_code, filed.postal_code)
        weight += WEIGHTS["postal_code", postal]
        scores["postal_code"] = {"same": 1.0, "near": 0.5, "other": 0.0}[postal]
    if keys.city and filed.city:
        city = name_similarity(keys.city, filed.city)
        level = "same" if city >= SAME_CITY else "other"
        weight += WEIGHTS["city", f"{level}_postal" if postal == "same" else level]
        scores["city"] = round(city, SCORE_DIGITS)
    return weight


def _postal_level(mine: str, theirs: str) -> str:
    """Postal codes agree, differ by one typo or swapped pair, or are other places."""
    if mine == theirs:
        return "same"
    return "near" if len(mine) == len(theirs) and OSA.distance(mine, theirs) == 1 else "other"


async def _drop_contradicted(
    session: AsyncSession, keys: ProspectKeys, found: dict[str, Match]
) -> None:
    """A match on names alone loses when the lead has another email or phone than the
    inquiry; a household's members have their own, so a match at one home keeps."""
    loose = [m.lead_id for m in found.values() if not (m.exact or m.one_home)]
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
