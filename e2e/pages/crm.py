"""The console's CRM page: the connect form, connection cards and the outbox."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from e2e.pages.rep_app import OVERFLOW_X


class CrmPage:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, base_url: str) -> None:
        self.page.goto(f"{base_url}/console/crm")
        expect(self.page.get_by_role("heading", name="CRM write-back")).to_be_visible()

    def connect_hubspot(self, name: str, token: str, base_url: str, sync_all: bool) -> None:
        form = self.page.locator("form.crm-connect")
        form.get_by_label("CRM", exact=True).select_option("hubspot")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("Base URL").fill(base_url)
        form.get_by_label("Private app token").fill(token)
        if sync_all:
            form.get_by_label("Write back every lead").check()
        form.get_by_role("button", name="Connect").click()

    def message(self) -> Locator:
        return self.page.locator("[data-message]")

    def card(self, name: str) -> Locator:
        return self.page.locator(".crm-connection", has_text=name)

    def test_connection(self, name: str) -> Locator:
        self.card(name).get_by_role("button", name="Test connection").click()
        return self.card(name).locator("[data-test-result]")

    def outbox_rows(self) -> Locator:
        return self.page.locator("tr[data-item]")

    def overflow_x(self) -> int:
        return int(self.page.evaluate(OVERFLOW_X))
