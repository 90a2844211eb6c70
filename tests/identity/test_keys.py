"""Matching keys and the scores that decide whether two inquiries are one prospect."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.errors import BadInput
from backend.identity.coalescing import (
    Filed,
    name_scores,
    one_slip,
    person_scores,
    street_similarity,
    window,
)
from backend.identity.keys import (
    address_key,
    company_key,
    email_key,
    fold,
    phone_key,
    postal_area,
    prospect_keys,
    sound_key,
)
from backend.identity.service import normalize_email, split_phone


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("Rita.Lima@Example.ORG", "rita.lima@example.org"),
        ("R.i.t.a.Lima+quote@GoogleMail.com", "ritalima@gmail.com"),
        ("rita.lima+news@outlook.com", "rita.lima@outlook.com"),
        ("rita.lima+news@example.org", "rita.lima+news@example.org"),
        ("jose@Bücher.de", "jose@xn--bcher-kva.de"),
        ("JOSE@xn--bcher-kva.de", "jose@xn--bcher-kva.de"),
        ("not an address", None),
        (None, None),
    ],
)
def test_email_key_folds_case_idn_and_provider_tags(address: str | None, key: str | None) -> None:
    assert email_key(address) == key


def test_email_is_stored_with_its_mailbox_as_written() -> None:
    assert (
        normalize_email("R.i.t.a.Lima+quote@GoogleMail.com") == "R.i.t.a.Lima+quote@googlemail.com"
    )


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+44 (0)20 7946 0018", None, ("+442079460018", None)),
        ("020 7946 0018", "GB", ("+442079460018", None)),
        ("+1 212-555-0100 ext. 42", None, ("+12125550100", "42")),
        ("(212) 555-0100 x43", "US", ("+12125550100", "43")),
        ("(11) 99123-4567", "BR", ("+5511991234567", None)),
    ],
)
def test_phone_splits_into_e164_and_extension(
    raw: str, country: str | None, expected: tuple[str, str | None]
) -> None:
    assert split_phone(raw, country) == expected


def test_national_phone_without_country_is_refused() -> None:
    with pytest.raises(BadInput, match="has no country code and no country was given"):
        split_phone("020 7946 0018", None)


def test_phone_without_area_code_is_refused() -> None:
    with pytest.raises(BadInput, match="has no area code"):
        split_phone("386-5286", "US")


def test_phone_key_keeps_extensions_apart() -> None:
    assert phone_key("+12125550100", "42") == "+12125550100;ext=42"
    assert phone_key("+12125550100", None) == "+12125550100"


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Müller Technik GmbH", "muller technik"),
        ("Mueller-Technik G.m.b.H.", "mueller technik"),
        ("Lima Energia Ltda.", "lima energia"),
        ("ACME, Inc.", "acme"),
        ("Acme Holdings Pty Ltd", "acme holdings"),
        ("Construções Silva S.A.", "construcoes silva"),
        ("Ltd", "ltd"),
    ],
)
def test_company_key_strips_legal_forms_and_accents(name: str, key: str) -> None:
    assert company_key(name) == key


def test_fold_drops_accents_case_and_punctuation() -> None:
    assert fold("  José  d'Ávila-Núñez ") == "jose d avila nunez"


def test_blocks_file_each_name_start_with_company_postal_code_and_city() -> None:
    keys = prospect_keys(
        email="Rita@Example.org",
        first_name="Rita",
        last_name="Lima",
        company="Lima Energia Ltda",
        postal_code="01310-100",
        city="São Paulo",
        country="br",
    )

    assert keys.blocks() == [
        ("email", "rita@example.org"),
        ("name_company", "lim|lima"),
        ("name_company", "rit|lima"),
        ("name_postal", "lim|BR:01310100"),
        ("name_postal", "rit|BR:01310100"),
        ("name_city", "lim|BR:sao paulo"),
        ("name_city", "rit|BR:sao paulo"),
        ("name_area", "l500r|BR:013101"),
        ("name_area", "r300l|BR:013101"),
    ]


def test_a_full_name_is_filed_by_sound_in_the_postal_district() -> None:
    first = prospect_keys(
        first_name="Flynn", last_name="Rokobaro", postal_code="2227", country="AU"
    )
    again = prospect_keys(
        first_name="Flynn", last_name="Rokobaro", postal_code="2272", country="AU"
    )

    assert set(first.blocks()) & set(again.blocks()) == {
        ("name_area", "r216f|AU:22"),
        ("name_area", "f450r|AU:22"),
    }


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("rokobaro", "r216"),
        ("rokobaor", "r216"),
        ("robert", "r163"),
        ("rupert", "r163"),
        ("ashcraft", "a261"),
        ("tymczak", "t522"),
        ("pfister", "p236"),
        ("van engelenhoven", "v552"),
        ("li", "l000"),
        ("петр", "пет"),
    ],
)
def test_sound_key_is_soundex_or_the_first_letters(name: str, code: str) -> None:
    assert sound_key(name) == code


@pytest.mark.parametrize(("postal", "area"), [("2227", "22"), ("01310100", "013101"), ("123", "")])
def test_postal_area_drops_the_last_two_characters(postal: str, area: str) -> None:
    assert postal_area(postal) == area


def test_an_inquiry_naming_nobody_is_filed_by_company_and_postal_code() -> None:
    keys = prospect_keys(company="The Acme Group Ltd", postal_code="10115", country="DE")

    assert keys.blocks() == [("company_postal", "acme|DE:10115")]


def filed(first: str, last: str, company: str = "", postal: str = "", city: str = "") -> Filed:
    return Filed(first, last, company, postal, city)


def test_name_scores_allow_swapped_parts() -> None:
    keys = prospect_keys(first_name="Lima", last_name="Rita")

    assert name_scores(keys, filed("rita", "lima")) == {"first_name": 1.0, "last_name": 1.0}


def test_name_scores_refuse_another_first_name() -> None:
    keys = prospect_keys(first_name="Anna", last_name="Schmidt")

    assert name_scores(keys, filed("peter", "schmidt")) is None


def test_person_matches_on_name_and_company_despite_accents_and_suffixes() -> None:
    keys = prospect_keys(first_name="José", last_name="Müller", company="Müller Technik GmbH")

    scores = person_scores(keys, filed("jose", "muller", company="muller technik"))

    assert scores == {"first_name": 1.0, "last_name": 1.0, "company": 100.0, "weight": 24.46}


def test_person_with_a_typo_matches_on_name_and_postal_code() -> None:
    keys = prospect_keys(first_name="Jon", last_name="Smith", postal_code="2600")

    scores = person_scores(keys, filed("john", "smith", postal="2600"))

    assert scores == {"first_name": 0.933, "last_name": 1.0, "postal_code": 1.0, "weight": 24.46}


def test_person_with_two_letters_swapped_matches_on_surname_and_postal_code() -> None:
    keys = prospect_keys(first_name="Sma", last_name="Souza", postal_code="01310-100")

    scores = person_scores(keys, filed("sam", "souza", postal="01310100"))

    # 3.0 bits for a near first name, 8.78 for the surname, 9.81 for the postal code.
    assert scores == {"first_name": 0.556, "last_name": 1.0, "postal_code": 1.0, "weight": 21.59}


def test_postal_code_with_swapped_digits_counts_with_the_city() -> None:
    keys = prospect_keys(
        first_name="Joshua", last_name="Mayman", postal_code="2803", city="Moorooka"
    )

    scores = person_scores(keys, filed("joshua", "mayman", postal="2830", city="moorooka"))

    assert scores == {
        "first_name": 1.0,
        "last_name": 1.0,
        "postal_code": 0.5,
        "city": 1.0,
        "weight": 26.52,
    }


def test_a_household_sharing_surname_and_address_is_two_people() -> None:
    keys = prospect_keys(
        first_name="Carla", last_name="Souza", postal_code="01310-100", city="São Paulo"
    )

    assert person_scores(keys, filed("marta", "souza", postal="01310100", city="sao paulo")) is None


def test_first_name_alone_with_the_city_is_not_enough() -> None:
    keys = prospect_keys(first_name="Sophie", city="Padstow")

    assert person_scores(keys, filed("sophie", "hobson", city="padstow")) is None


def test_surname_alone_with_the_postal_code_is_enough() -> None:
    keys = prospect_keys(last_name="Hobson", postal_code="3429")

    scores = person_scores(keys, filed("sophie", "hobson", postal="3429"))

    assert scores == {"last_name": 1.0, "postal_code": 1.0, "weight": 18.59}


@pytest.mark.parametrize(
    ("a", "b", "slip"),
    [
        ("sam", "sma", True),
        ("gus", "gs", True),
        ("zoe", "zeo", True),
        ("tim", "tom", False),
        ("sam", "asm", False),
        ("ann", "anna", True),
        ("ana", "ivan", False),
    ],
)
def test_one_slip_is_a_swap_or_a_missing_letter_after_the_first(a: str, b: str, slip: bool) -> None:
    assert one_slip(a, b) is slip


def test_same_name_at_another_company_is_another_person() -> None:
    keys = prospect_keys(first_name="Rita", last_name="Lima", company="Sol Brasil")

    assert person_scores(keys, filed("rita", "lima", company="lima energia")) is None


def test_same_name_with_nothing_else_shared_is_not_enough() -> None:
    keys = prospect_keys(first_name="Rita", last_name="Lima", city="Recife")

    assert person_scores(keys, filed("rita", "lima", city="curitiba")) is None


@pytest.mark.parametrize(("setting", "days"), [(None, 30), ("7", 7), ("0.5", 0.5), ("soon", 30)])
def test_window_comes_from_the_setting_or_defaults_to_30_days(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, days: float
) -> None:
    if setting is None:
        monkeypatch.delenv("PURSUIT_COALESCE_WINDOW_DAYS", raising=False)
    else:
        monkeypatch.setenv("PURSUIT_COALESCE_WINDOW_DAYS", setting)

    assert window() == timedelta(days=days)


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("12 Smith Street", "12 smith st"),
        ("12 SMITH ST.", "12 smith st"),
        ("Unit 4, 12 Smith Street", "12 smith st unit 4"),
        ("12 Smith St, Apt. 4", "12 smith st unit 4"),
        ("4/12 Smith Road", "12 smith rd unit 4"),
        ("#4, 12 Smith Rd", "12 smith rd unit 4"),
        ("12b Hobart Place North", "12b hobart pl n"),
        ("Avenida Paulista, 1000", "1000 ave paulista"),
        ("Rua Augusta, 1500, apto 42", "1500 r augusta unit 42"),
        ("Praça da Sé 1", "1 pca da se"),
        ("12 5th Avenue", "12 5th ave"),
        ("", ""),
        (None, ""),
    ],
)
def test_address_key_folds_case_accents_punctuation_and_street_words(
    line: str | None, key: str
) -> None:
    assert address_key(line) == key


def test_an_address_is_filed_by_house_number_and_street_in_the_district_and_by_name() -> None:
    keys = prospect_keys(
        first_name="Carla",
        last_name="Souza",
        postal_code="01310-100",
        country="br",
        address="Rua Augusta, 1500, apto 42",
    )

    assert [block for block in keys.blocks() if block[0].startswith("address")] == [
        ("address_postal", "1500|aug|BR:013101"),
        ("address_name", "1500|aug|BR:sou"),
        ("address_name", "1500|aug|BR:car"),
    ]


def test_an_address_without_a_house_number_is_not_a_block() -> None:
    keys = prospect_keys(first_name="Carla", postal_code="01310-100", address="Rua Augusta")

    assert [kind for kind, _ in keys.blocks()] == ["name_postal"]


@pytest.mark.parametrize(
    ("a", "b", "similarity"),
    [
        ("smith st", "smith st", 1.0),
        ("herschell cct killarney", "herschell cct", 1.0),
        ("cochrane cres spylaw farm", "cochrane cres the rookery", 1.0),
        # One letter too many in 29: 1 - 1/29.
        ("bungonia svtreet", "bungoniastreet", 0.966),
        # Word by word, "smith" finds itself (1.0) and "st" finds "smith" at best (Jaro
        # 17/30): 0.783, under the 0.8 that makes one street.
        ("smith st", "smith rd", 0.783),
    ],
)
def test_street_similarity_forgives_a_left_out_district_not_another_street(
    a: str, b: str, similarity: float
) -> None:
    assert round(street_similarity(a, b), 3) == similarity


def at_home(
    first: str, last: str, address: str, postal: str = "01310100", city: str = "sao paulo"
) -> Filed:
    return Filed(first, last, "", postal, city, address_key(address))


CARLA = prospect_keys(
    first_name="Carla",
    last_name="Souza",
    postal_code="01310-100",
    city="São Paulo",
    address="Rua Augusta, 1500, apto 42",
)


def test_a_household_at_one_street_address_is_one_prospect() -> None:
    scores = person_scores(CARLA, at_home("marta", "souza", "R. Augusta 1500 Apto 42"))

    # 8.78 bits for the surname, 12.05 for the address, 9.81 for the postal code and 0.08
    # for the city; Marta is another first name, which weighs nothing at one home.
    assert scores == {
        "first_name": 0.733,
        "last_name": 1.0,
        "address": 1.0,
        "house_number": 1.0,
        "postal_code": 1.0,
        "city": 1.0,
        "one_home": 1.0,
        "weight": 30.72,
    }


@pytest.mark.parametrize(
    "address",
    ["Rua Augusta 1502, apto 42", "Rua Augusta 1500, apto 43", "Rua Haddock Lobo 1500"],
    ids=["other-house-number", "other-flat", "other-street"],
)
def test_a_household_name_at_another_home_is_another_person(address: str) -> None:
    assert person_scores(CARLA, at_home("marta", "souza", address)) is None


def test_a_household_in_another_postal_code_is_another_person() -> None:
    filed = at_home("marta", "souza", "Rua Augusta 1500 apto 42", postal="04538133")

    assert person_scores(CARLA, filed) is None


def test_another_surname_at_one_address_is_another_person() -> None:
    assert person_scores(CARLA, at_home("marta", "lima", "Rua Augusta 1500 apto 42")) is None


def test_one_first_name_at_one_address_under_another_surname_is_one_prospect() -> None:
    scores = person_scores(CARLA, at_home("carla", "lima", "Rua Augusta 1500 apto 42"))

    # 5.87 for the first name, 12.05 + 9.81 + 0.08 for the address, postal code and city.
    assert scores == {
        "first_name": 1.0,
        "last_name": 0.483,
        "address": 1.0,
        "house_number": 1.0,
        "postal_code": 1.0,
        "city": 1.0,
        "one_home": 1.0,
        "weight": 27.81,
    }


def test_another_surname_at_one_address_in_another_city_is_another_person() -> None:
    filed = at_home("carla", "lima", "Rua Augusta 1500 apto 42", city="campinas")

    assert person_scores(CARLA, filed) is None


def test_another_house_number_weighs_against_but_a_full_name_still_matches() -> None:
    scores = person_scores(CARLA, at_home("carla", "souza", "Rua Augusta 1502"))

    # 14.65 for the full name, -4.31 for the house number, 9.81 + 0.08 for the place.
    assert scores == {
        "first_name": 1.0,
        "last_name": 1.0,
        "address": 1.0,
        "house_number": 0.0,
        "postal_code": 1.0,
        "city": 1.0,
        "weight": 20.23,
    }


def test_another_house_number_outweighs_a_surname_and_postal_code() -> None:
    keys = prospect_keys(last_name="Hobson", postal_code="3429", address="12 Bent Street")

    assert person_scores(keys, at_home("", "hobson", "21 Bent St", postal="3429", city="")) == {
        "last_name": 1.0,
        "address": 1.0,
        "house_number": 0.5,
        "postal_code": 1.0,
        "weight": 22.91,
    }
    assert person_scores(keys, at_home("", "hobson", "14 Bent St", postal="3429", city="")) is None


def test_a_line_without_its_house_number_keeps_a_household_on_one_street() -> None:
    keys = prospect_keys(
        first_name="Carla", last_name="Souza", postal_code="01310-100", city="São Paulo",
        address="Rua Augusta",
    )  # fmt: skip

    scores = person_scores(keys, at_home("marta", "souza", "Rua Augusta"))

    # 8.78 for the surname, 4.32 for the same street without a number, 9.81 + 0.08.
    assert scores == {
        "first_name": 0.733,
        "last_name": 1.0,
        "address": 1.0,
        "postal_code": 1.0,
        "city": 1.0,
        "one_home": 1.0,
        "weight": 22.99,
    }


def test_a_line_without_the_flat_another_gives_is_another_household() -> None:
    assert person_scores(CARLA, at_home("marta", "souza", "Rua Augusta")) is None
    assert person_scores(CARLA, at_home("marta", "souza", "Rua Augusta, 1500")) is None


@pytest.mark.parametrize(
    ("mine", "theirs"),
    [
        ("100 W 14th St", "100 W 15th St"),
        ("100 W 42nd St", "100 E 42nd St"),
        ("1 Main St Apt A", "1 Main St Apt B"),
        ("Rua Augusta, 100, Bloco A, Apto 12", "Rua Augusta, 100, Bloco B, Apto 12"),
        ("Calle Mayor 12, 3 Izq", "Calle Mayor 12, 3 Dcha"),
        ("Rua 25 de Março, 100", "Rua 25 de Março, 200"),
    ],
)
def test_neighbours_in_one_building_or_on_a_numbered_street_stay_two_households(
    mine: str, theirs: str
) -> None:
    keys = prospect_keys(
        first_name="John", last_name="Smith", postal_code="10011", city="New York", address=mine
    )

    assert person_scores(keys, at_home("mary", "smith", theirs, "10011", "new york")) is None


def test_a_household_in_another_town_one_postal_typo_away_stays_apart() -> None:
    keys = prospect_keys(
        first_name="John", last_name="Smith", postal_code="45678", city="Springfield",
        address="100 Main Street",
    )  # fmt: skip

    assert (
        person_scores(keys, at_home("mary", "smith", "100 Main St", "45687", "riverside")) is None
    )


def test_a_household_surname_with_a_late_typo_still_shares_the_home() -> None:
    keys = prospect_keys(
        first_name="Carla", last_name="Johnson", postal_code="2000", address="7 Bent St"
    )

    scores = person_scores(keys, at_home("marta", "johnsen", "7 Bent Street", "2000", ""))

    # "johnsen" is the same surname (Jaro-Winkler 0.943): 8.78 bits, 12.05 for the
    # address and 9.81 for the postal code.
    assert scores == {
        "first_name": 0.733,
        "last_name": 0.943,
        "address": 1.0,
        "house_number": 1.0,
        "postal_code": 1.0,
        "one_home": 1.0,
        "weight": 30.64,
    }
