"""The words a lead is found by: folded names and the digits of its phone."""

from __future__ import annotations

import contextlib

import phonenumbers
import pytest

from backend.console.models import fold, lead_terms, phone_words, words

# E.164 as intake stores it, and what older rows, imports and typing leave: spaces,
# extensions, letters, national prefixes after the country code, other digit scripts.
NUMBERS = [
    "+5511991234567",
    "+390612345678",
    "+39 06 1234 5678",
    "+39 06 1234 5678 ext. 9",
    "+2250712345678",
    "+4402079460000",
    "+442079460000",
    "+5491112345678",
    "+540111512345678",
    "+18005550123",
    "+1 800 FLOWERS",
    "+80012345678",
    "+79161234567",
    "+8801812345678",
    "+61412345678",
    "+3906",
    "+12345",
    "+1" + "2" * 18,
    "+0123456",
    "+99912345",
    "++5511991234567",
    "+٥٥١١٩٩١٢٣٤٥٦٧",
    "0612345678",
    "tel:+55-11-99123-4567",
]


def _parsed_words(phone: str) -> set[str]:
    """The digits, and the national number as phonenumbers reads it."""
    found = {"".join(c for c in phone if c.isdigit())}
    with contextlib.suppress(phonenumbers.NumberParseException):
        found.add(str(phonenumbers.parse(phone, None).national_number))
    return {w for w in found if w}


@pytest.mark.parametrize("phone", NUMBERS)
def test_phone_words_match_the_national_number_phonenumbers_parses(phone: str) -> None:
    assert phone_words(phone) == _parsed_words(phone)


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+5511991234567", {"5511991234567", "11991234567"}),
        ("+390612345678", {"390612345678", "612345678"}),
        ("+2250712345678", {"2250712345678", "712345678"}),
        ("+4402079460000", {"4402079460000", "2079460000"}),
        ("+5491112345678", {"5491112345678", "91112345678"}),
        ("+540111512345678", {"540111512345678", "91112345678"}),
        ("+80012345678", {"80012345678", "12345678"}),
        ("+39 06 1234 5678 ext. 9", {"3906123456789", "612345678"}),
        ("+0123456", {"0123456"}),
        ("", set()),
        (None, set()),
    ],
)
def test_phone_words_hand_checked(phone: str | None, expected: set[str]) -> None:
    assert phone_words(phone) == expected


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("José", "jose"),
        ("Straße", "strasse"),
        ("\uff21\uff22\uff23", "abc"),
        ("ACME Ltda", "acme ltda"),
        ("", ""),
    ],
)
def test_fold_drops_case_and_accents(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_lead_terms_split_names_and_email_and_add_the_phone() -> None:
    fields = {
        "first_name": "Ana",
        "last_name": "O'Brien_Müller",
        "company": None,
        "email": "Ana.Souza@Example.com",
        "phone": "+390612345678",
    }

    terms = lead_terms(fields)

    assert words("Ana.Souza@Example.com") == ["ana", "souza", "example", "com"]
    assert terms == {"ana", "o", "brien", "muller", "souza", "example", "com"} | {
        "390612345678",
        "612345678",
    }


def test_phone_words_of_every_country_example_match_phonenumbers() -> None:
    examples = [
        phonenumbers.example_number_for_type(region, kind)
        for region in sorted(phonenumbers.SUPPORTED_REGIONS)
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)
    ]
    e164 = phonenumbers.PhoneNumberFormat.E164
    phones = [phonenumbers.format_number(n, e164) for n in examples if n is not None]

    differing = [p for p in phones if phone_words(p) != _parsed_words(p)]

    assert len(phones) > 400
    assert differing == []
