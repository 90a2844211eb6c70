from datetime import UTC, datetime
from pathlib import Path

import pytest

from backend.intake import olist

SAMPLE_FIRST_ROW = {
    "mql_id": "5420aad7fec3549a85876ba1c529bd84",
    "first_contact_date": "2018-02-21",
    "landing_page_id": "b48ec5f3b04e9068441002a19df93c6c",
    "origin": "organic_search",
}


@pytest.fixture(scope="module")
def sample() -> list[olist.OlistLead]:
    return olist.load_sample()


@pytest.fixture(scope="module")
def by_id(sample: list[olist.OlistLead]) -> dict[str, olist.OlistLead]:
    return {lead.mql_id: lead for lead in sample}


def test_lead_body_first_sample_row_with_its_deal() -> None:
    deal = olist.load_deals()[SAMPLE_FIRST_ROW["mql_id"]]

    body = olist.lead_body(SAMPLE_FIRST_ROW, deal)

    # 15:09:53 in São Paulo (UTC-3 once summer time ended on 2018-02-18).
    assert body == {
        "source": "organic_search",
        "external_id": "5420aad7fec3549a85876ba1c529bd84",
        "company": "Seller 5420aa",
        "country": "BR",
        "region": "SP",
        "product": "pet",
        "language": "pt",
        "campaign": "b48ec5f3b04e9068441002a19df93c6c",
        "value": None,
        "currency": "BRL",
        "received_at": "2018-02-21T18:09:53+00:00",
    }


def test_lead_body_without_deal_has_no_product_or_value() -> None:
    body = olist.lead_body(SAMPLE_FIRST_ROW)

    assert body["product"] is None
    assert body["value"] is None


def test_load_sample_counts_and_order(sample: list[olist.OlistLead]) -> None:
    times = [lead.received_at for lead in sample]

    assert len(sample) == 2000
    assert sum(lead.won for lead in sample) == 842
    assert len({lead.mql_id for lead in sample}) == 2000
    assert times == sorted(times)
    assert sample[0].mql_id == "6dd0ef38856fd5fb21aed5223aea9e66"
    assert sample[0].received_at == datetime(2017, 6, 14, 13, 26, 23, tzinfo=UTC)


def test_load_sample_empty_origin_becomes_unknown(by_id: dict[str, olist.OlistLead]) -> None:
    lead = by_id["8e952443b19bfc5d0b90e6c4eabcb8fb"]

    # 12:24:07 in São Paulo during summer time (UTC-2).
    assert lead.body["source"] == "unknown"
    assert lead.received_at == datetime(2018, 1, 28, 14, 24, 7, tzinfo=UTC)
    assert lead.deal is None
    assert not lead.won


def test_load_sample_deal_with_quoted_profile_and_revenue(
    by_id: dict[str, olist.OlistLead],
) -> None:
    lead = by_id["58caf27a48e7930aefd5437298d64a70"]

    assert lead.deal == olist.Deal(
        mql_id="58caf27a48e7930aefd5437298d64a70",
        won_date=datetime(2018, 9, 21, 21, 18, 15, tzinfo=UTC),
        sdr_id="45749fb708130f78d0db07d8d80f030b",
        sr_id="34d40cdaf94010a1d05b0d6212f9e909",
        lead_type="online_medium",
        business_segment="bed_bath_table",
        declared_monthly_revenue=30000.0,
    )
    assert lead.body["value"] == 30000.0
    assert lead.body["product"] == "bed_bath_table"
    assert lead.body["region"] == "RS"
    assert lead.received_at == datetime(2018, 3, 23, 14, 47, 21, tzinfo=UTC)


def test_load_deals_won_date_in_summer_time_is_utc_minus_two() -> None:
    deal = olist.load_deals()["f5fee8f7da74f4887f5bcae2bafb6dd6"]

    assert deal.won_date == datetime(2018, 1, 17, 15, 51, 3, tzinfo=UTC)
    assert deal.business_segment == "food_drink"
    assert deal.lead_type == "online_small"
    assert deal.declared_monthly_revenue is None


def test_load_deals_counts_sample_figures() -> None:
    deals = olist.load_deals()

    assert len(deals) == 842
    assert sum(d.declared_monthly_revenue is not None for d in deals.values()) == 45
    assert len({d.sdr_id for d in deals.values()}) == 32
    assert len({d.sr_id for d in deals.values()}) == 22


@pytest.mark.parametrize(
    ("mql_id", "region"),
    [
        ("5420aad7fec3549a85876ba1c529bd84", "SP"),
        ("3bb7e223dd6fe07da16874517cf3fa54", "PR"),
        ("58caf27a48e7930aefd5437298d64a70", "RS"),
    ],
)
def test_region_for_known_ids(mql_id: str, region: str) -> None:
    assert olist.region_for(mql_id) == region


def test_region_for_sample_is_sao_paulo_heavy(sample: list[olist.OlistLead]) -> None:
    regions = [lead.body["region"] for lead in sample]
    states = {state for state, _ in olist.STATE_WEIGHTS}

    assert set(regions) <= states
    assert 0.5 < regions.count("SP") / len(regions) < 0.65


def test_received_at_for_sample_is_within_working_hours(
    sample: list[olist.OlistLead],
) -> None:
    local = [lead.received_at.astimezone(olist.SAO_PAULO) for lead in sample]

    assert all(8 <= moment.hour < 20 for moment in local)
    assert all(moment.utcoffset() is not None for moment in local)


def test_received_at_for_bad_date_raises() -> None:
    with pytest.raises(ValueError):
        olist.received_at_for("5420aad7fec3549a85876ba1c529bd84", "21/02/2018")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["mql_id", "first_contact_date", "landing_page_id", "origin"], True),
        (["Origin", " MQL_ID", "landing_page_id", "first_contact_date"], True),
        (["mql_id", "first_contact_date", "landing_page_id"], False),
        (["mql_id", "first_contact_date", "landing_page_id", "origin", "email"], False),
    ],
)
def test_is_mql_header(header: list[str], expected: bool) -> None:
    assert olist.is_mql_header(header) is expected


def test_load_sample_from_other_directory(tmp_path: Path) -> None:
    (tmp_path / olist.MQL_FILE).write_text(
        "mql_id,first_contact_date,landing_page_id,origin\n"
        "f5fee8f7da74f4887f5bcae2bafb6dd6,2018-01-14,22c29808c4f815213303f8933030604c,paid_search\n"
        "5420aad7fec3549a85876ba1c529bd84,2018-02-21,b48ec5f3b04e9068441002a19df93c6c,\n"
    )
    (tmp_path / olist.DEALS_FILE).write_text(
        (olist.SAMPLE_DIR / olist.DEALS_FILE).read_text().splitlines()[0] + "\n"
    )

    leads = olist.load_sample(tmp_path)

    # 17:24:34 in São Paulo during summer time (UTC-2).
    assert [lead.mql_id for lead in leads] == [
        "f5fee8f7da74f4887f5bcae2bafb6dd6",
        "5420aad7fec3549a85876ba1c529bd84",
    ]
    assert leads[0].received_at == datetime(2018, 1, 14, 19, 24, 34, tzinfo=UTC)
    assert leads[1].body["source"] == "unknown"
    assert not any(lead.won for lead in leads)
