"""The bundled Olist marketing-funnel sample as lead bodies, with each lead's outcome.

The source is anonymised: no names, e-mail addresses, places or times of day.
Company names, Brazilian states and times of day are derived from a hash of
``mql_id`` instead, so they are the same on every run and replay order is fixed.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

logger = logging.getLogger(__name__)

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "olist"
MQL_FILE = "olist_marketing_qualified_leads_dataset.csv"
DEALS_FILE = "olist_closed_deals_dataset.csv"
MQL_COLUMNS = ("mql_id", "first_contact_date", "landing_page_id", "origin")

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
WORKDAY_START = time(8)
WORKDAY_SECONDS = 12 * 3600

# Rough per-mille shares of Olist's sellers by state. The funnel data has no
# location, so this is a plausible spread for demos, not a fact about any lead.
STATE_WEIGHTS = (
    ("SP", 585), ("PR", 110), ("MG", 80), ("SC", 60), ("RJ", 55), ("RS", 45),
    ("GO", 15), ("BA", 12), ("DF", 12), ("ES", 10), ("CE", 8), ("PE", 8),
)  # fmt: skip
_STATE_BOUNDS = list(accumulate(weight for _, weight in STATE_WEIGHTS))


@dataclass(frozen=True)
class Deal:
    """A closed deal: the lead became a seller. Times are aware UTC."""

    mql_id: str
    won_date: datetime
    sdr_id: str
    sr_id: str
    lead_type: str | None
    business_segment: str | None
    declared_monthly_revenue: float | None


@dataclass(frozen=True)
class OlistLead:
    body: dict[str, Any]
    received_at: datetime
    deal: Deal | None

    @property
    def mql_id(self) -> str:
        return str(self.body["external_id"])

    @property
    def won(self) -> bool:
        return self.deal is not None


def _stable_int(mql_id: str, purpose: str) -> int:
    """A number fixed by the id; ``purpose`` keeps the derived traits independent."""
    digest = hashlib.sha256(f"{purpose}:{mql_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def region_for(mql_id: str) -> str:
    point = _stable_int(mql_id, "region") % _STATE_BOUNDS[-1]
    return STATE_WEIGHTS[bisect_right(_STATE_BOUNDS, point)][0]


def company_for(mql_id: str) -> str:
    return f"Seller {mql_id[:6]}"


def received_at_for(mql_id: str, first_contact_date: str) -> datetime:
    """The contact day at a stable time from 08:00 to 20:00 in São Paulo, in UTC.

    Raises ``ValueError`` when the date is not ``YYYY-MM-DD``.
    """
    day = date.fromisoformat(first_contact_date.strip())
    offset = timedelta(seconds=_stable_int(mql_id, "time") % WORKDAY_SECONDS)
    local = datetime.combine(day, WORKDAY_START, SAO_PAULO) + offset
    return local.astimezone(UTC)


def _optional(text: str) -> str | None:
    return text.strip() or None


def _revenue(text: str) -> float | None:
    amount = float(text) if text.strip() else 0.0
    return amount if amount > 0 else None


def parse_deal(row: Mapping[str, str]) -> Deal:
    """One closed-deals row; ``won_date`` is read as São Paulo local time."""
    won = datetime.fromisoformat(row["won_date"]).replace(tzinfo=SAO_PAULO)
    return Deal(
        mql_id=row["mql_id"],
        won_date=won.astimezone(UTC),
        sdr_id=row["sdr_id"],
        sr_id=row["sr_id"],
        lead_type=_optional(row["lead_type"]),
        business_segment=_optional(row["business_segment"]),
        declared_monthly_revenue=_revenue(row["declared_monthly_revenue"]),
    )


def lead_body(mql: Mapping[str, str], deal: Deal | None = None) -> dict[str, Any]:
    """The intake body for one MQL row; ``received_at`` is ISO 8601 in UTC."""
    mql_id = mql["mql_id"].strip()
    received_at = received_at_for(mql_id, mql["first_contact_date"])
    return {
        "source": mql["origin"].strip() or "unknown",
        "external_id": mql_id,
        "company": company_for(mql_id),
        "country": "BR",
        "region": region_for(mql_id),
        "product": deal.business_segment if deal else None,
        "language": "pt",
        "campaign": _optional(mql["landing_page_id"]),
        "value": deal.declared_monthly_revenue if deal else None,
        "currency": "BRL",
        "received_at": received_at.isoformat(),
    }


def to_lead(mql: Mapping[str, str], deal: Deal | None = None) -> OlistLead:
    body = lead_body(mql, deal)
    return OlistLead(body, datetime.fromisoformat(body["received_at"]), deal)


def is_mql_header(header: Sequence[str]) -> bool:
    """Whether a CSV header is the Olist MQL file's, in any order or case."""
    names = [name.strip().lower() for name in header]
    return len(names) == len(MQL_COLUMNS) and set(names) == set(MQL_COLUMNS)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def load_deals(directory: Path | None = None) -> dict[str, Deal]:
    """Closed deals by ``mql_id``: who qualified, who closed, when, what."""
    rows = read_rows((directory or SAMPLE_DIR) / DEALS_FILE)
    return {deal.mql_id: deal for deal in map(parse_deal, rows)}


def load_sample(directory: Path | None = None) -> list[OlistLead]:
    """Every MQL of the sample as a lead, oldest first (ties by ``mql_id``)."""
    folder = directory or SAMPLE_DIR
    deals = load_deals(folder)
    rows = read_rows(folder / MQL_FILE)
    leads = [to_lead(row, deals.get(row["mql_id"])) for row in rows]
    leads.sort(key=lambda lead: (lead.received_at, lead.mql_id))

    logger.debug("olist sample loaded leads=%d won=%d", len(leads), len(deals))
    return leads
