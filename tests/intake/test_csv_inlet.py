"""CSV files as spreadsheets save them: encodings, delimiters, headers in other languages."""

from __future__ import annotations

import asyncio
import codecs
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from backend.cli import main
from backend.db import create_engine, session_factory, upgrade_database
from backend.intake.importer import RowError, parse_csv, parse_csv_bytes
from backend.intake.models import Inquiry
from tests.console.html import parse
from tests.console.test_console import sign_in

PEOPLE = "Nome,Sobrenome,E-mail,Telefone,CEP\nJosé,Müller,jose@example.org,011 99123-4567,01310\n"


def write(tmp_path: Path, content: bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


JOSE = {
    "first_name": "José",
    "last_name": "Müller",
    "email": "jose@example.org",
    "phone": "011 99123-4567",
    "postal_code": "01310",
    "source": "csv",
    "country": "BR",
}


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF8 + PEOPLE.encode(), "utf-8-sig"),
        (PEOPLE.encode(), "utf-8"),
        (PEOPLE.encode("cp1252"), "cp1252"),
        (PEOPLE.encode("latin-1"), "cp1252"),
        (PEOPLE.encode("utf-16"), "utf-16"),
        (codecs.BOM_UTF16_BE + PEOPLE.encode("utf-16-be"), "utf-16"),
    ],
    ids=["utf8-bom", "utf8", "cp1252", "latin1", "utf16-le", "utf16-be"],
)
def test_csv_encodings_keep_accents(content: bytes, encoding: str) -> None:
    batch = parse_csv_bytes(content, "people.csv", default_country="BR")

    assert batch.encoding == encoding
    assert batch.rows == [JOSE]


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), (",", "comma")])
def test_csv_delimiters_are_sniffed(delimiter: str, name: str) -> None:
    text = PEOPLE.replace(",", delimiter)

    batch = parse_csv_bytes(text.encode(), "people.csv", default_country="BR")

    assert batch.delimiter_name == name
    assert batch.rows == [JOSE]


def test_csv_semicolons_with_decimal_commas_and_quoted_newline() -> None:
    text = 'Empresa;Mensagem;CEP\n"Lima; Filhos";"linha um\nlinha dois";04538\nBeta;;00100\n'

    batch = parse_csv_bytes(text.encode("cp1252"), "x.csv")

    assert batch.rows == [
        {
            "company": "Lima; Filhos",
            "message": "linha um\nlinha dois",
            "postal_code": "04538",
            "source": "csv",
        },
        {"company": "Beta", "postal_code": "00100", "source": "csv"},
    ]
    assert batch.row_numbers == [2, 3]


def test_csv_header_mapping_and_unmapped_columns() -> None:
    text = (
        "Email Address,Zip,TELÉFONO,Full Name,Cor favorita\n"
        "a@example.org,02134,+1 617 555 0100,Ana Reis,azul\n"
    )

    batch = parse_csv_bytes(text.encode(), "x.csv")

    assert batch.mapping == [
        ("Email Address", "email"),
        ("Zip", "postal_code"),
        ("TELÉFONO", "phone"),
        ("Full Name", "name"),
        ("Cor favorita", None),
    ]
    assert batch.rows == [
        {
            "email": "a@example.org",
            "postal_code": "02134",
            "phone": "+1 617 555 0100",
            "first_name": "Ana",
            "last_name": "Reis",
            "source": "csv",
        }
    ]
    assert batch.unmapped_columns == ["Cor favorita"]


def test_csv_bad_rows_are_reported_by_row_and_the_rest_kept() -> None:
    text = "email,phone,company\ngood@example.org,,\nnot-an-email,,\n,12,\n,,Acme\n"

    batch = parse_csv_bytes(text.encode(), "x.csv", default_country="BR")

    assert [row.get("email") or row.get("company") for row in batch.rows] == [
        "good@example.org",
        "Acme",
    ]
    assert batch.errors == [
        RowError(
            3, "email 'not-an-email' is not a valid address: An email address must have an @-sign."
        ),
        RowError(4, "phone '12' has the wrong number of digits."),
    ]
    assert batch.errors[0].cells == {"email": "not-an-email", "phone": "", "company": ""}


def test_csv_inlet_field_map_names_unknown_headers() -> None:
    batch = parse_csv_bytes(
        b"Kontakt-Mail\nx@example.org\n", "x.csv", field_map={"kontakt-mail": "email"}
    )

    assert batch.rows == [{"email": "x@example.org", "source": "csv"}]


def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    monkeypatch.setenv("PURSUIT_DATABASE_URL", url)
    monkeypatch.setenv("PURSUIT_VAR_DIR", str(tmp_path))
    upgrade_database(url)
    return url


async def _stored(url: str) -> list[tuple[str, str | None, str | None]]:
    engine = create_engine(url)
    async with session_factory(engine)() as session:
        rows = (
            await session.scalars(select(Inquiry).order_by(Inquiry.status, Inquiry.external_id))
        ).all()
        found = [(row.status, row.external_id, row.error) for row in rows]
    await engine.dispose()
    return found


BAD_AMONG_GOOD = (
    "ID;Nome;E-mail;CEP\n"
    "c-1;José;jose@example.org;01310\n"
    "c-2;Rita;rita@;04538\n"
    "c-3;Ana;ana@example.org;00100\n"
).encode("cp1252")


def test_cli_dry_run_shows_mapping_rows_and_failures_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _env(tmp_path, monkeypatch)
    path = write(tmp_path, BAD_AMONG_GOOD)

    result = CliRunner().invoke(main, ["leads", "import", str(path), "--dry-run"])

    assert result.exit_code == 0, result.output
    first = {
        "external_id": "c-1",
        "email": "jose@example.org",
        "postal_code": "01310",
        "source": "csv",
        "first_name": "José",
    }
    assert result.output.splitlines() == [
        "read as cp1252, semicolon-separated, 3 rows",
        "columns:",
        "  ID -> external_id",
        "  Nome -> name",
        "  E-mail -> email",
        "  CEP -> postal_code",
        "first rows as they would be stored (of 2):",
        f"  row 2: {json.dumps(first, ensure_ascii=False)}",
        "  row 4: "
        + json.dumps(
            {
                "external_id": "c-3",
                "email": "ana@example.org",
                "postal_code": "00100",
                "source": "csv",
                "first_name": "Ana",
            }
        ),
        "rows that would fail:",
        "  row 3: email 'rita@' is not a valid address: There must be something after the @-sign.",
        "2 rows would be imported, 1 rejected; nothing was stored",
    ]
    assert asyncio.run(_stored(url)) == []


def test_cli_import_keeps_the_bad_row_as_a_failed_inquiry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _env(tmp_path, monkeypatch)
    path = write(tmp_path, BAD_AMONG_GOOD)

    result = CliRunner().invoke(main, ["leads", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "row 3: email 'rita@' is not a valid address: There must be something after the @-sign.",
        "2 leads created, 0 joined an open lead, 0 already known, 1 rejected",
    ]
    reason = (
        "Row 3: email 'rita@' is not a valid address: There must be something after the @-sign."
    )
    assert asyncio.run(_stored(url)) == [
        ("failed", "c-2", reason),
        ("processed", "c-1", None),
        ("processed", "c-3", None),
    ]


def test_cli_inlet_create_and_import_through_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(tmp_path, monkeypatch)
    path = write(tmp_path, b"Kontakt;Firma\nx@example.org;Acme\n")
    runner = CliRunner()

    created = runner.invoke(
        main,
        ["inlet", "create", "--kind", "csv", "--slug", "fair", "--source", "fair-2026",
         "--map", "Kontakt=email", "--map", "Firma=company"],
    )  # fmt: skip
    result = runner.invoke(main, ["leads", "import", str(path), "--inlet", "fair", "--dry-run"])
    listed = runner.invoke(main, ["inlet", "list"])

    assert created.exit_code == 0, created.output
    assert created.output.splitlines() == [
        "csv inlet 'fair' created; it receives inquiries at:",
        "pursuit leads import FILE --inlet fair",
    ]
    assert result.exit_code == 0, result.output
    assert (
        '  row 2: {"email": "x@example.org", "company": "Acme", "source": "fair-2026"}'
        in result.output
    )
    assert listed.output.splitlines() == [
        "Slug  Kind  Source     State  Name",
        "fair  csv   fair-2026  open   fair",
    ]


def test_cli_inlet_create_refuses_bad_slug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _env(tmp_path, monkeypatch)

    result = CliRunner().invoke(
        main, ["inlet", "create", "--kind", "form", "--slug", "Bad Slug", "--source", "web"]
    )

    assert result.exit_code == 1
    assert result.output.startswith("Error: slug 'Bad Slug' must be 1 to 64 lower-case letters")


async def test_console_import_previews_then_imports(
    client: httpx.AsyncClient, sessions: Any, rep: str
) -> None:
    await sign_in(client, sessions)
    csrf = {"x-csrftoken": client.cookies["pursuit_csrf"]}

    preview = await client.post(
        "/console/import",
        files={"file": ("fair.csv", BAD_AMONG_GOOD, "text/csv")},
        data={"source": "fair"},
        headers=csrf,
    )
    page = parse(preview.text)
    token = next(i.attrs["value"] for i in page.tags("input") if i.attrs.get("name") == "token")
    async with sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Inquiry))
    done = await client.post(
        "/console/import", files={"token": (None, token), "source": (None, "fair")}, headers=csrf
    )
    again = await client.post("/console/import", files={"token": (None, token)}, headers=csrf)

    assert preview.status_code == 200
    assert "Read as cp1252, semicolon-separated." in page.one("data-preview").text
    assert page.one("data-errors").text == (
        "Row 3: email 'rita@' is not a valid address: There must be something after the @-sign."
    )
    assert before == 0
    assert done.status_code == 200
    report = parse(done.text)
    assert (
        report.one("data-summary").text
        == "2 leads created, 0 joined an open lead, 0 already known, 1 rejected."
    )
    assert again.status_code == 422
    assert "That preview has expired; upload the file again." in again.text


async def test_console_import_without_a_file_says_so(
    client: httpx.AsyncClient, sessions: Any
) -> None:
    await sign_in(client, sessions)
    csrf = {"x-csrftoken": client.cookies["pursuit_csrf"]}

    response = await client.post("/console/import", files={"source": (None, "x")}, headers=csrf)

    assert response.status_code == 422
    assert parse(response.text).one("data-problem").text == "Choose a CSV file to upload."


async def test_console_upload_over_the_size_limit_gets_a_page_not_json(
    client: httpx.AsyncClient, sessions: Any
) -> None:
    await sign_in(client, sessions)
    headers = {"x-csrftoken": client.cookies["pursuit_csrf"], "Accept": "text/html"}
    big = b"email\n" + b"someone@example.org\n" * 120_000

    response = await client.post(
        "/console/import", files={"file": ("big.csv", big, "text/csv")}, headers=headers
    )

    assert (response.status_code, response.headers["content-type"]) == (
        413,
        "text/html; charset=utf-8",
    )
    assert "<h1>This file is too large</h1>" in response.text
    assert "the console takes files up to 2 MiB" in response.text


def test_parse_csv_reads_a_path_too(tmp_path: Path) -> None:
    batch = parse_csv(write(tmp_path, PEOPLE.encode("utf-16")), default_country="BR")

    assert batch.rows == [JOSE]


def test_csv_row_from_the_year_one_is_refused_with_a_sentence() -> None:
    text = "email,received_at\nold1@example.org,0001-01-01T00:00:00+05:00\n"

    batch = parse_csv_bytes(text.encode(), "x.csv", default_country="BR")

    assert batch.rows == []
    assert batch.errors == [
        RowError(
            2,
            "received_at 0001-01-01T00:00:00+05:00 is before 2000-01-01; "
            "give the time the inquiry was really received.",
        )
    ]


def test_cli_refuses_a_country_that_is_not_iso_3166(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(tmp_path, monkeypatch)
    path = write(tmp_path, b"email\nrita@example.org\n")
    create = ["inlet", "create", "--kind", "form", "--slug", "xx", "--source", "web"]

    inlet = CliRunner().invoke(main, [*create, "--country", "XX"])
    imported = CliRunner().invoke(main, ["leads", "import", str(path), "--country", "XX"])

    assert inlet.exit_code == 1
    assert inlet.output.strip() == (
        "Error: default_country 'XX' is not an ISO 3166 country code such as 'BR' or 'PT'."
    )
    assert imported.exit_code == 2
    assert "'XX' is not an ISO 3166 country code such as BR." in imported.output


def test_csv_row_with_an_unknown_country_is_refused() -> None:
    batch = parse_csv_bytes(b"email,country\nrita@example.org,zz\n", "x.csv")

    assert batch.rows == []
    assert batch.errors == [
        RowError(2, "country 'ZZ' is not an ISO 3166 country code such as 'BR'.")
    ]


def test_csv_excel_separator_line_names_the_delimiter() -> None:
    text = "sep=;\r\nE-mail;Empresa\r\nrita@example.org;Lima, Energia\r\n"

    batch = parse_csv_bytes(text.encode(), "excel.csv")

    assert batch.delimiter == ";"
    assert batch.errors == []
    assert batch.rows == [
        {"email": "rita@example.org", "company": "Lima, Energia", "source": "csv"}
    ]


def test_csv_quote_that_never_closes_is_a_failed_row_not_a_merge() -> None:
    text = 'email,message\na@example.org,"hello\nb@example.org,hi\nc@example.org,bye\n'

    batch = parse_csv_bytes(text.encode(), "x.csv")

    assert batch.rows == []
    assert batch.errors == [
        RowError(
            2,
            "opens a quote that never closes, so the 2 lines after it were read as one field; "
            "close the quote and import the file again.",
        )
    ]
    assert batch.errors[0].cells == {
        "email": "a@example.org",
        "message": "hello\nb@example.org,hi\nc@example.org,bye\n",
        "(unclosed quote)": "2 lines",
    }
