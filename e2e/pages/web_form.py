"""An inlet's public web form, as a visitor on a phone sees it."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from e2e.pages.rep_app import OVERFLOW_X


class WebForm:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, url: str, title: str) -> None:
        self.page.goto(url)
        expect(self.page.get_by_role("heading", name=title)).to_be_visible()

    def fill(self, **fields: str) -> None:
        for label, value in fields.items():
            self.page.get_by_label(label.replace("_", " "), exact=True).fill(value)

    def send(self) -> None:
        self.page.get_by_role("button", name="Send").click()

    def thanks(self) -> Locator:
        return self.page.locator("[data-thanks]")

    def problem(self) -> Locator:
        return self.page.locator("[data-problem]")

    def trap(self) -> Locator:
        return self.page.locator('input[name="website"]')

    def overflow_x(self) -> int:
        return int(self.page.evaluate(OVERFLOW_X))
