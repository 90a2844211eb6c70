"""Matching keys: folded forms of a prospect's email, phone, name and company.

A key only ever decides whether two inquiries come from the same person; what is
stored and shown keeps the address, number and names as the prospect wrote them.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from email_validator import EmailNotValidError, validate_email

SUFFIX_FILE = Path(__file__).parent / "data" / "legal_suffixes.txt"
STREET_WORDS_FILE = Path(__file__).parent / "data" / "street_words.txt"
# Mailbox providers known to deliver name+tag@ to name@; Gmail also ignores dots.
GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
PLUS_TAG_DOMAINS = GMAIL_DOMAINS | {
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "fastmail.com",
    "protonmail.com",
    "proton.me",
}
# Words that say nothing about which company it is, so they never make a blocking key.
FILLER_WORDS = frozenset({"the", "and", "of", "group", "holding", "holdings", "&"})


def fold(text: str | None) -> str:
    """Lower case without accents or punctuation, words separated by single spaces."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text)
    letters = (
        c if c.isalnum() or c == "&" else " " for c in decomposed if not unicodedata.combining(c)
    )
    return " ".join("".join(letters).casefold().split())


def email_key(address: str | None) -> str | None:
    """One key for every spelling of a mailbox: case, IDN domain and provider tags folded."""
    if not address:
        return None
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    local = unicodedata.normalize("NFC", checked.local_part).casefold()
    domain = checked.ascii_domain.casefold()
    if domain in PLUS_TAG_DOMAINS:
        local = local.split("+", 1)[0]
    if domain in GMAIL_DOMAINS:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}" if local else None


def phone_key(e164: str | None, extension: str | None = None) -> str | None:
    """The E.164 number, with its extension: two desks behind one switchboard stay apart."""
    if not e164:
        return None
    return f"{e164};ext={extension}" if extension else e164


@cache
def legal_suffixes() -> dict[int, frozenset[tuple[str, ...]]]:
    """Folded legal-form terms as word sequences, by their number of words."""
    terms = {tuple(fold(line).split()) for line in SUFFIX_FILE.read_text("utf-8").splitlines()}
    by_length: dict[int, set[tuple[str, ...]]] = {}
    for term in filter(None, terms):
        by_length.setdefault(len(term), set()).add(term)
    return {n: frozenset(by_length[n]) for n in sorted(by_length, reverse=True)}


def company_key(name: str | None) -> str:
    """The folded company name without its trailing legal forms ("Lima Energia Ltda.")."""
    words = fold(name).split()
    suffixes = legal_suffixes()
    stripped = True
    while stripped:
        stripped = False
        for length, terms in suffixes.items():
            if len(words) > length and tuple(words[-length:]) in terms:
                words, stripped = words[:-length], True
                break
    return " ".join(words)


def company_token(company: str) -> str | None:
    """The first telling word of a folded company key, for blocking."""
    return next((w for w in company.split() if w not in FILLER_WORDS and len(w) > 1), None)


def postal_key(postal_code: str | None) -> str:
    return "".join(fold(postal_code).split())


def postal_area(postal: str) -> str:
    """The postal code without its last two characters: the district around it, so a code
    with a typo or a transposition at its end still meets ("2702"/"2720" are both "27")."""
    return postal[:-2] if len(postal) >= 4 else ""


# Soundex digit groups: letters that sound alike when spelt wrong share a digit.
SOUND_GROUPS = {
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}
VOWELS = frozenset("aeiouy")  # they part two equal digits; h and w do not
SOUND_LENGTH = 4


def sound_key(name: str) -> str:
    """The Soundex code of a folded name ("rokobaro" and "rokobaor" are both "r216").

    A name not written in Latin letters keeps its first letters instead.
    """
    letters = [c for c in name if c.isalpha()]
    if not letters or not all(c.isascii() for c in letters):
        return name.replace(" ", "")[:NAME_BLOCK_LETTERS]
    code, last = letters[0], SOUND_GROUPS.get(letters[0], "")
    for letter in letters[1:]:
        digit = SOUND_GROUPS.get(letter, "")
        if digit and digit != last:
            code += digit
        if digit or letter in VOWELS:
            last = digit
    return code[:SOUND_LENGTH].ljust(SOUND_LENGTH, "0")


NAME_BLOCK_LETTERS = 3  # names are filed by their first letters, so a later typo still meets

# Words before the number of a flat, suite or floor inside a building ("Unit 4", "Apt 4").
UNIT_WORDS = frozenset({
    "unit", "u", "apt", "apartment", "flat", "suite", "ste", "villa", "shop", "lot", "room",
    "level", "floor", "fl", "flr", "apto", "ap", "sala", "andar", "piso", "bloco", "torre",
    "bat", "batiment",
})  # fmt: skip
HOUSE_NUMBER = re.compile(r"\d+[a-z]?")
FLAT_LETTER = re.compile(r"[a-z]")  # "Apt B", "Bloco A"
COMPASS_POINTS = frozenset({"n", "s", "e", "w"})
ADDRESS_KEY_LIMIT = 300  # the width of prospect_keys.address; folding may lengthen a line
# "4/12 Smith St" is unit 4 of number 12.
UNIT_SLASH = re.compile(r"\b(\d+[a-z]?)\s*/\s*(\d+[a-z]?)\b", re.IGNORECASE)


@cache
def street_words() -> dict[str, str]:
    """Each spelling of a street-address word, by the form an address key uses."""
    forms: dict[str, str] = {}
    for line in STREET_WORDS_FILE.read_text("utf-8").splitlines():
        words = fold(line.partition("#")[0]).split()
        forms.update((word, words[0]) for word in words)
    return forms


def address_key(line: str | None) -> str:
    """A street line folded for matching: "Unit 4, 12 Smith Street" is "12 smith st unit 4".

    The house number comes first, then the street's words with their common abbreviations
    spelt one way, then "unit" and the flat's, suite's or floor's numbers.
    """
    if not line:
        return ""
    words = fold(UNIT_SLASH.sub(r"unit \1 \2", line.replace("#", " unit "))).split()
    forms = street_words()
    number, street, units = "", [], []
    after_unit_word = False
    for word in words:
        if word in UNIT_WORDS:
            after_unit_word = True
        elif after_unit_word and (HOUSE_NUMBER.fullmatch(word) or FLAT_LETTER.fullmatch(word)):
            units.append(word)
            after_unit_word = False
        elif not number and HOUSE_NUMBER.fullmatch(word):
            number = word
        else:
            street.append(forms.get(word, word))
            after_unit_word = False
    key = " ".join([number, *street, *(["unit", *units] if units else [])]).strip()
    return key[:ADDRESS_KEY_LIMIT]


@dataclass(frozen=True)
class Address:
    """The parts of an address key that are compared apart."""

    number: str
    street: str
    unit: str


@cache
def address_parts(key: str) -> Address:
    words = key.split()
    units: list[str] = []
    if "unit" in words:
        at = words.index("unit")
        words, units = words[:at], words[at + 1 :]
    number = words[0] if words and HOUSE_NUMBER.fullmatch(words[0]) else ""
    street = words[1:] if number else words
    return Address(number, " ".join(street), " ".join(units))


def street_name(street: str) -> str:
    """The street itself, up to its type word ("smith st" of "smith st rosebery hill"), or
    "" when no type word follows the name."""
    words = street.split()
    kinds = street_forms() - COMPASS_POINTS
    end = next((i for i, word in enumerate(words) if i and word in kinds), None)
    return " ".join(words[: end + 1]) if end is not None else ""


@cache
def street_forms() -> frozenset[str]:
    """The words an address key spells one way: street types and compass points."""
    return frozenset(street_words().values())


def street_start(street: str) -> str:
    """The street name's first letters, after any leading street-type word ("rua augusta")."""
    words = street.split()
    while len(words) > 1 and words[0] in street_forms():
        words = words[1:]
    return "".join(words)[:NAME_BLOCK_LETTERS]


@dataclass(frozen=True)
class ProspectKeys:
    """Everything coalescing compares about one inquiry."""

    email: str | None = None
    phone: str | None = None
    first_name: str = ""
    last_name: str = ""
    company: str = ""
    postal_code: str = ""
    city: str = ""
    country: str = ""
    address: str = ""

    @property
    def named(self) -> bool:
        return bool(self.first_name or self.last_name)

    def blocks(self) -> list[tuple[str, str]]:
        """(kind, key) pairs under which this prospect is filed and looked up.

        Each name part is filed with the company's first telling word, the postal code
        and the city, so a typo in one part or one place still lands on a shared block;
        a full name is also filed by the sound of each part with the other's initial in
        the postal district, for typos in both a name and the place. An inquiry that
        names nobody speaks for its company: it is filed by company and postal code, and
        meets only other such inquiries.
        """
        found: list[tuple[str, str]] = []
        if self.email:
            found.append(("email", self.email))
        if self.phone:
            found.append(("phone", self.phone))
        token = company_token(self.company)
        places = {
            "name_company": token or "",
            "name_postal": f"{self.country}:{self.postal_code}" if self.postal_code else "",
            "name_city": f"{self.country}:{self.city}" if self.city else "",
        }
        if not self.named:
            if token and places["name_postal"]:
                found.append(("company_postal", f"{token}|{places['name_postal']}"))
            return found
        parts = (self.last_name, self.first_name)
        starts = dict.fromkeys(p[:NAME_BLOCK_LETTERS] for p in parts if len(p) > 1)
        for kind, place in places.items():
            found += [(kind, f"{start}|{place}") for start in starts if place]
        return found + self._sound_blocks() + self._address_blocks()

    def _sound_blocks(self) -> list[tuple[str, str]]:
        area = postal_area(self.postal_code)
        if not (area and self.first_name and self.last_name):
            return []
        parts = ((self.last_name, self.first_name), (self.first_name, self.last_name))
        sounds = dict.fromkeys(f"{sound_key(a)}{b[0]}|{self.country}:{area}" for a, b in parts)
        return [("name_area", key) for key in sounds]

    def _address_blocks(self) -> list[tuple[str, str]]:
        """The house number and the street's first letters, in the postal district and
        with each name part's first letters: two inquiries from one home meet when a name
        was replaced, or when the postal code and the city both carry a typo."""
        parts = address_parts(self.address)
        if not (parts.number and parts.street):
            return []
        home = f"{parts.number}|{street_start(parts.street)}|{self.country}"
        found = (
            [("address_postal", f"{home}:{area}")]
            if (area := postal_area(self.postal_code))
            else []
        )
        starts = dict.fromkeys(
            part[:NAME_BLOCK_LETTERS] for part in (self.last_name, self.first_name) if len(part) > 1
        )
        return found + [("address_name", f"{home}:{start}") for start in starts]


def prospect_keys(
    *,
    email: str | None = None,
    phone: str | None = None,
    phone_extension: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    company: str | None = None,
    postal_code: str | None = None,
    city: str | None = None,
    country: str | None = None,
    address: str | None = None,
) -> ProspectKeys:
    return ProspectKeys(
        email=email_key(email),
        phone=phone_key(phone, phone_extension),
        first_name=fold(first_name),
        last_name=fold(last_name),
        company=company_key(company),
        postal_code=postal_key(postal_code),
        city=fold(city),
        country=(country or "").upper(),
        address=address_key(address),
    )
