from pathlib import Path

import pytest

from backend.errors import BadInput
from backend.intake.importer import RowError, lead_key, parse_csv

DATA = Path(__file__).parent / "data"


def write(tmp_path: Path, text: str, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_csv_generic_fixture_rows() -> None:
    batch = parse_csv(DATA / "leads.csv")

    assert batch.rows == [
        {
            "external_id": "f-1",
            "first_name": "Rita",
            "last_name": "Lima",
            "email": "rita.lima@example.org",
            "phone": "011 99123-4567",
            "company": "Lima Energia, Ltda",
            "postal_code": "01310-100",
            "country": "BR",
            "region": "SP",
            "value": 12000.0,
            "currency": "BRL",
            "received_at": "2018-02-01T13:00:00+00:00",
            "source": "csv",
        },
        {
            "external_id": "f-2",
            "first_name": "João",
            "last_name": "Souza",
            "phone": "0800 123 4567",
            "postal_code": "04538-133",
            "country": "BR",
            "region": "RJ",
            "received_at": "2018-02-02T00:00:00+00:00",
            "source": "csv",
        },
    ]


def test_parse_csv_generic_fixture_errors_and_unmapped() -> None:
    batch = parse_csv(DATA / "leads.csv")

    assert [str(error) for error in batch.errors] == [
        "Row 4: value '12.000,50' is not a number like 1234.50.",
        "Row 6: has no name, company, email or phone to pursue.",
    ]
    assert batch.unmapped_columns == ["Favourite Colour"]


def test_parse_csv_olist_fixture() -> None:
    batch = parse_csv(DATA / "olist_mql.csv")

    assert batch.rows == [
        {
            "source": "organic_search",
            "external_id": "5420aad7fec3549a85876ba1c529bd84",
            "company": "Seller 5420aa",
            "country": "BR",
            "region": "SP",
            "product": None,
            "language": "pt",
            "campaign": "b48ec5f3b04e9068441002a19df93c6c",
            "value": None,
            "currency": "BRL",
            "received_at": "2018-02-21T18:09:53+00:00",
        },
        {
            "source": "unknown",
            "external_id": "8e952443b19bfc5d0b90e6c4eabcb8fb",
            "company": "Seller 8e9524",
            "country": "BR",
            "region": "SP",
            "product": None,
            "language": "pt",
            "campaign": "21a104c3279681d9856b8a48723c4fee",
            "value": None,
            "currency": "BRL",
            "received_at": "2018-01-28T14:24:07+00:00",
        },
    ]
    assert batch.errors == [
        RowError(4, "first_contact_date '21/02/2018' is not a YYYY-MM-DD date.")
    ]
    assert batch.unmapped_columns == []


def test_parse_csv_without_bom_and_with_source_column(tmp_path: Path) -> None:
    path = write(tmp_path, "source,EMAIL,Zip Code\nfair-2024,a@example.org,00100\n")

    batch = parse_csv(path)

    assert batch.rows == [{"source": "fair-2024", "email": "a@example.org", "postal_code": "00100"}]
    assert batch.errors == []


def test_parse_csv_default_source_is_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, "company\nAcme\n")

    batch = parse_csv(path, default_source="trade-show")

    assert batch.rows == [{"company": "Acme", "source": "trade-show"}]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("Acme,BRA,,", "country 'BRA' is not a 2-letter ISO code."),
        ("Acme,,R$,", "currency 'R$' is not a 3-letter ISO code."),
        ("Acme,,,yesterday", "received_at 'yesterday' is not an ISO 8601 time."),
        ("Acme,BR,BRL,2018-01-01,extra", "has 5 fields but the header has 4."),
    ],
)
def test_parse_csv_bad_row_is_reported(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, f"company,country,currency,received_at\nGood Co,,,\n{line}\n")

    batch = parse_csv(path)

    assert batch.rows == [{"company": "Good Co", "source": "csv"}]
    assert batch.errors == [RowError(3, message)]


def test_parse_csv_short_row_and_naive_time(tmp_path: Path) -> None:
    path = write(tmp_path, "company,received_at,phone\nAcme,2018-01-01 09:30\n")

    batch = parse_csv(path)

    assert batch.rows == [
        {"company": "Acme", "received_at": "2018-01-01T09:30:00+00:00", "source": "csv"}
    ]


def test_parse_csv_duplicate_and_blank_headers_are_unmapped(tmp_path: Path) -> None:
    path = write(tmp_path, "Email,e-mail,,notes\na@example.org,b@example.org,x,hi\n")

    batch = parse_csv(path)

    assert batch.rows == [{"email": "a@example.org", "message": "hi", "source": "csv"}]
    assert batch.unmapped_columns == ["e-mail", "column 3 (no header)"]


def test_parse_csv_quoted_newline_keeps_row_numbers(tmp_path: Path) -> None:
    path = write(tmp_path, 'company,message,value\nAcme,"two\nlines",1\nBeta,,x\n')

    batch = parse_csv(path)

    assert batch.rows[0]["message"] == "two\nlines"
    assert batch.errors == [RowError(3, "value 'x' is not a number like 1234.50.")]


def test_parse_csv_latin1_is_read_as_windows_1252(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("company\nSão Paulo Ltda\n".encode("latin-1"))

    batch = parse_csv(path)

    assert batch.encoding == "cp1252"
    assert batch.rows == [{"company": "São Paulo Ltda", "source": "csv"}]


@pytest.mark.parametrize("text", ["", "\ufeff", ",,\n"])
def test_parse_csv_without_header_raises(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(BadInput, match="no header row"):
        parse_csv(path)


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("Email", "email"),
        ("E-mail", "email"),
        ("ZIP", "postal_code"),
        ("Postal Code", "postal_code"),
        ("first name", "first_name"),
        ("External-ID", "external_id"),
        ("utm_campaign", "campaign"),
        ("Received At", "received_at"),
        ("Favourite Colour", None),
    ],
)
def test_lead_key(header: str, key: str | None) -> None:
    assert lead_key(header) == key
