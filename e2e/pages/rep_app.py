"""The rep app as a rep sees it on a phone: lanes of offers and leads, and one-tap actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core-4.14.1.min.js"
OVERFLOW_X = "document.documentElement.scrollWidth - window.innerWidth"


class RepApp:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, link: str, heading: str = "Your leads") -> None:
        self.page.goto(link)
        expect(self.page.get_by_role("heading", name=heading)).to_be_visible()

    def wait_for_service_worker(self) -> str:
        """The state of the active worker once the page's registration has one."""
        return str(self.page.evaluate("navigator.serviceWorker.ready.then(r => r.active.state)"))

    @property
    def agent_name(self) -> Locator:
        return self.page.locator("[data-agent]")

    @property
    def message(self) -> Locator:
        return self.page.locator("#queue [data-message]")

    def lane(self, name: str) -> Locator:
        """``pending``, ``waiting``, ``contacted`` or ``closed``."""
        return self.page.locator(f'[data-section="{name}"]')

    def cards(self, lane: str) -> Locator:
        return self.lane(lane).locator("article[data-lead]")

    def card(self, lane: str, title: str) -> Locator:
        heading = self.page.get_by_role("heading", name=title, exact=True)
        return self.cards(lane).filter(has=heading)

    def countdown(self, title: str) -> Locator:
        return self.card("pending", title).locator("[data-expires]")

    def accept(self, title: str) -> None:
        self.card("pending", title).get_by_role("button", name="Accept").click()

    def open_decline(self, title: str) -> Locator:
        """Unfold the card's decline form and return it, without sending anything."""
        card = self.card("pending", title)
        card.locator("summary", has_text="Decline").click()
        return card.locator("details.decline form")

    def open_log_contact(self, title: str) -> Locator:
        card = self.card("waiting", title)
        card.locator("summary", has_text="Log contact").click()
        return card.locator("details.log form")

    def overflow_x(self) -> int:
        """How far the page is wider than the window; above zero, the rep must scroll sideways."""
        return int(self.page.evaluate(OVERFLOW_X))

    def decline(self, title: str, reason: str, note: str = "") -> None:
        card = self.card("pending", title)
        card.locator("summary", has_text="Decline").click()
        card.get_by_label(reason, exact=True).check()
        card.get_by_label("Note (optional)").fill(note)
        card.get_by_role("button", name="Decline this lead").click()

    def log_contact(self, title: str, kind: str = "Call", outcome: str = "Connected") -> None:
        card = self.card("waiting", title)
        card.locator("summary", has_text="Log contact").click()
        card.get_by_label(kind, exact=True).check()
        card.get_by_role("button", name=outcome, exact=True).click()

    @property
    def push_status(self) -> Locator:
        return self.page.locator("#push-status")

    def turn_on_notifications(self) -> None:
        self.page.get_by_role("button", name="Turn on notifications").click()

    @property
    def outbox_status(self) -> Locator:
        return self.page.locator("#outbox-status")

    @property
    def connection(self) -> Locator:
        return self.page.locator("#connection")

    def outbox(self) -> list[dict[str, Any]]:
        """The answers this phone keeps until the server has them."""
        return list(self.page.evaluate("PursuitOutbox.list()"))

    def resend(self, entry: dict[str, Any]) -> int:
        """Send a kept answer again, as a second flush would; answers the HTTP status."""
        return int(
            self.page.evaluate("entry => PursuitOutbox.send(entry).then(r => r.status)", entry)
        )

    def axe_violations(self, *impacts: str) -> list[dict[str, Any]]:
        """axe-core's findings on the page as it is now, of the given impacts."""
        if not self.page.evaluate("typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(path=str(AXE))
        found, checked = self.page.evaluate(
            "axe.run(document).then(r => [r.violations, r.passes.length])"
        )
        assert checked > 0, "axe checked nothing on the page"
        return [
            {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
            for v in found
            if v["impact"] in impacts
        ]
