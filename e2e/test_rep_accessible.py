"""axe-core finds nothing serious on the rep's screens, on a 360 px wide phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import Seed, new_page
from e2e.pages.rep_app import RepApp

pytestmark = pytest.mark.e2e

NARROW = {"width": 360, "height": 740}
SERIOUS = ("serious", "critical")


def test_rep_screens_have_no_serious_accessibility_violations(
    browser: Browser, seeded: Seed
) -> None:
    context = browser.new_context(viewport=NARROW, is_mobile=True, has_touch=True)
    rep = RepApp(new_page(context))
    rep.open(seeded.rep_link)

    queue = rep.axe_violations(*SERIOUS)
    rep.open_decline(seeded.company)
    decline_sheet = rep.axe_violations(*SERIOUS)
    rep.accept(seeded.company)
    expect(rep.cards("waiting")).to_have_count(1)
    lead = rep.axe_violations(*SERIOUS)
    rep.open_log_contact(seeded.company)
    log_sheet = rep.axe_violations(*SERIOUS)
    overflow = rep.overflow_x()
    context.close()

    assert {"queue": queue, "decline": decline_sheet, "lead": lead, "log": log_sheet} == {
        "queue": [],
        "decline": [],
        "lead": [],
        "log": [],
    }
    assert overflow == 0
