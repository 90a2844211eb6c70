"""A mail scanner opening a partner's link, and every page behind it, accepts nothing."""

from __future__ import annotations

import httpx
import pytest

from e2e.conftest import Seed, Server

pytestmark = pytest.mark.e2e


def test_scanner_fetching_the_link_and_its_pages_changes_nothing(
    server: Server, api: httpx.Client, seeded: Seed
) -> None:
    token = seeded.rep_link.rsplit("/", 1)[1]
    pages = [
        seeded.rep_link,
        f"{seeded.rep_link}?offer={seeded.offer_id}",
        f"{seeded.rep_link}?offer={seeded.offer_id}&decline=1",
        f"{seeded.rep_link}/queue",
        f"{server.url}/app?offer={seeded.offer_id}",
    ]

    with httpx.Client(headers={"User-Agent": "LinkScanner/1.0"}, timeout=10) as scanner:
        answers = [scanner.get(url) for url in pages]
    after = api.get(f"/api/v1/leads/{seeded.lead_id}").json()

    assert [a.status_code for a in answers] == [200, 200, 200, 200, 200]
    assert f"/r/{token}/offers/{seeded.offer_id}/accept" in answers[0].text
    assert [(o["id"], o["status"]) for o in after["offers"]] == [(seeded.offer_id, "pending")]
    assert [e["type"] for e in after["events"] if e["type"] != "notified"] == [
        "received",
        "offered",
    ]
    assert after["status"] == "offered"
