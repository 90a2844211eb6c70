"""Emails, phones and ISO codes as identity compares them."""

from __future__ import annotations

import pytest

from backend.errors import BadInput
from backend.identity.service import iso_code, normalize_email, normalize_phone


def test_email_keeps_its_mailbox_and_lower_cases_its_domain() -> None:
    assert normalize_email("  Rita.Lima@Example.ORG ") == "Rita.Lima@example.org"


def test_phone_becomes_e164_with_the_leads_country() -> None:
    assert normalize_phone("(11) 99123-4567", "BR") == "+5511991234567"


@pytest.mark.parametrize(("value", "expected"), [("br", "BR"), (" us ", "US"), (None, None)])
def test_iso_code_is_upper_case(value: str | None, expected: str | None) -> None:
    assert iso_code(value, 2, "country", "BR") == expected


def test_iso_code_of_the_wrong_shape_says_so() -> None:
    with pytest.raises(BadInput, match="country 'Brazil' must be a 2-letter ISO code"):
        iso_code("Brazil", 2, "country", "BR")
