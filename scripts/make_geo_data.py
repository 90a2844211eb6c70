"""Build the bundled data that places a lead by its postal code or city.

Usage: python scripts/make_geo_data.py SOURCE_DIR [--out DIR]

SOURCE_DIR holds the folders ``us-zip-codes``, ``canada-fsa-postal-codes`` and
``geonames-cities`` (see ``backend/geo/data/README.md`` for where they come from).
The output is gzip-compressed CSV without timestamps, so the same source gives
byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from backend.geo.service import fold_name

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "backend" / "geo" / "data"
POSTAL_FILE = "postal_codes.csv.gz"
CITIES_FILE = "cities.csv.gz"
DIGITS = 3  # about 110 m: finer than an area's centroid can mean anything

# GeoNames numbers the first-level divisions of Brazil and Canada; leads name
# them by their postal abbreviations, so the cities file carries those instead.
BR_STATES = {
    "01": "AC", "02": "AL", "03": "AP", "04": "AM", "05": "BA", "06": "CE", "07": "DF",
    "08": "ES", "29": "GO", "13": "MA", "14": "MT", "11": "MS", "15": "MG", "16": "PA",
    "17": "PB", "18": "PR", "30": "PE", "20": "PI", "21": "RJ", "22": "RN", "23": "RS",
    "24": "RO", "25": "RR", "26": "SC", "27": "SP", "28": "SE", "31": "TO",
}  # fmt: skip
CA_PROVINCES = {
    "01": "AB", "02": "BC", "03": "MB", "04": "NB", "05": "NL", "07": "NS", "08": "ON",
    "09": "PE", "10": "QC", "11": "SK", "12": "YT", "13": "NT", "14": "NU",
}  # fmt: skip
REGION_CODES = {"BR": BR_STATES, "CA": CA_PROVINCES}

Row = tuple[str, ...]
RankedRow = tuple[tuple[int, int], Row]


def read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def coordinate(text: str) -> str:
    """A decimal degree rounded to ``DIGITS`` places, without trailing zeros."""
    rounded = f"{float(text):.{DIGITS}f}".rstrip("0").rstrip(".")
    return "0" if rounded == "-0" else rounded


def us_zip_rows(source: Path) -> list[Row]:
    """Every US ZIP with a real centroid; military ZIPs all sit at 0,0."""
    rows = []
    for row in read_csv(source / "us-zip-codes" / "us_zip_codes.csv"):
        latitude, longitude = coordinate(row["lat"]), coordinate(row["long"])
        if row["zip_code_type"] == "MILITARY" or (latitude, longitude) == ("0", "0"):
            continue
        rows.append(("US", row["zip_code"], latitude, longitude))
    return rows


def canada_fsa_rows(source: Path) -> list[Row]:
    rows = []
    for row in read_csv(source / "canada-fsa-postal-codes" / "canada_fsa.csv"):
        latitude, longitude = coordinate(row["latitude"]), coordinate(row["longitude"])
        rows.append(("CA", row["fsa"].upper(), latitude, longitude))
    return rows


def geonames_city_rows(source: Path) -> list[RankedRow]:
    """GeoNames cities ranked by population, with regions written as leads write them."""
    rows = []
    for city in read_csv(source / "geonames-cities" / "cities15000.csv"):
        country, admin1 = city["countrycode"], city["admin1code"]
        region = REGION_CODES.get(country, {}).get(admin1, admin1)
        latitude, longitude = coordinate(city["latitude"]), coordinate(city["longitude"])
        rank = (0, -int(city["population"] or 0))
        rows.append((rank, (country, region, city["name"], latitude, longitude)))
    return rows


def us_place_rows(source: Path, known: set[tuple[str, str, str]]) -> list[RankedRow]:
    """US places GeoNames lacks or names otherwise ("New York"), at the mean of
    their ZIP centroids, ranked after GeoNames' namesakes, then by ZIP count."""
    points: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for row in read_csv(source / "us-zip-codes" / "us_zip_codes.csv"):
        if row["zip_code_type"] != "STANDARD" or row["country"] != "US":
            continue
        state, city = row["state"], row["city"]
        if ("US", state, fold_name(city)) not in known:
            points[state, city].append((float(row["lat"]), float(row["long"])))

    rows = []
    for (state, city), spots in points.items():
        latitude = coordinate(str(sum(lat for lat, _ in spots) / len(spots)))
        longitude = coordinate(str(sum(lon for _, lon in spots) / len(spots)))
        rows.append(((1, -len(spots)), ("US", state, city, latitude, longitude)))
    return rows


def city_rows(source: Path) -> list[Row]:
    """All places, grouped by country and folded name, the best-ranked of a name first."""
    ranked = geonames_city_rows(source)
    known = {(row[0], row[1], fold_name(row[2])) for _, row in ranked}
    ranked += us_place_rows(source, known)
    ranked.sort(key=lambda item: (item[1][0], fold_name(item[1][2]), item[0], item[1]))
    return [row for _, row in ranked]


def write_gzip_csv(path: Path, header: Row, rows: Iterable[Row]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with path.open("wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as packed:
        packed.write(text.getvalue().encode("utf-8"))


def make_geo_data(source: Path, out: Path) -> tuple[int, int]:
    """Write both files into ``out``; returns the postal-code and city row counts."""
    postal = sorted(us_zip_rows(source) + canada_fsa_rows(source))
    cities = city_rows(source)

    out.mkdir(parents=True, exist_ok=True)
    postal_header = ("country", "code", "latitude", "longitude")
    write_gzip_csv(out / POSTAL_FILE, postal_header, postal)
    city_header = ("country", "region", "name", "latitude", "longitude")
    write_gzip_csv(out / CITIES_FILE, city_header, cities)
    return len(postal), len(cities)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the bundled geographic data.")
    parser.add_argument("source", type=Path, help="folder holding the public data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    postal_count, city_count = make_geo_data(args.source, args.out)
    print(f"wrote {postal_count} postal codes and {city_count} places to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
