"""The manager console: the dashboard with its live figures and leads, and a lead's journey."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from e2e.pages.rep_app import OVERFLOW_X


class Dashboard:
    def __init__(self, page: Page) -> None:
        self.page = page

    def sign_in_with_link(self, link: str) -> None:
        self.page.goto(link)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("heading", name="Dashboard")).to_be_visible()

    def figure(self, key: str) -> Locator:
        return self.page.locator(f'[data-figure="{key}"] [data-value]')

    def figure_unit(self, key: str) -> Locator:
        return self.figure(key).locator("[data-unit]")

    def clipped_figures(self) -> list[str]:
        """Keys of the figures whose value is wider than the card shows."""
        keys = self.page.evaluate(
            """[...document.querySelectorAll("[data-figure]")]
                .filter((card) => card.scrollWidth > card.clientWidth
                    || card.querySelector("[data-value]").scrollWidth
                        > card.querySelector("[data-value]").clientWidth)
                .map((card) => card.dataset.figure)"""
        )
        return [str(key) for key in keys]

    def overflow_x(self) -> int:
        """How far the page is wider than the window; above zero, it scrolls sideways."""
        return int(self.page.evaluate(OVERFLOW_X))

    def lead_row(self, lead_id: str) -> Locator:
        return self.page.locator(f'#leads tr[data-lead="{lead_id}"]')

    def lead_status(self, lead_id: str) -> Locator:
        return self.lead_row(lead_id).locator("[data-status]")

    def lead_owner(self, lead_id: str) -> Locator:
        return self.lead_row(lead_id).locator("[data-owner]")

    def filter_status(self, status: str) -> None:
        self.page.get_by_label("Status").select_option(status)

    def open_lead(self, lead_id: str) -> LeadJourney:
        self.lead_row(lead_id).get_by_role("link").click()
        return LeadJourney(self.page)


class LeadJourney:
    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def title(self) -> Locator:
        return self.page.get_by_role("heading", level=1)

    @property
    def status(self) -> Locator:
        return self.page.locator(".page-head [data-status]")

    @property
    def explanations(self) -> Locator:
        return self.page.locator("[data-decision] [data-explanation]")

    def candidate(self, agent_id: str) -> Locator:
        return self.page.locator(f'tr[data-candidate="{agent_id}"]')

    def offer_statuses(self) -> list[str]:
        return self.page.locator("tr[data-offer] [data-status]").all_inner_texts()

    def activities(self) -> list[str]:
        rows = self.page.locator("tr[data-activity]")
        return [" ".join(row.locator("td").all_inner_texts()[2:4]) for row in rows.all()]

    def events(self) -> list[str]:
        items = self.page.locator(".timeline [data-event]")
        return [str(item.get_attribute("data-event")) for item in items.all()]
