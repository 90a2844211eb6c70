"""Console screens for access and the editors: login, the rule editor and trying a lead."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Login:
    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url

    def sign_in(self, email: str, password: str) -> None:
        self.page.goto(f"{self.base_url}/console/login")
        form = self.page.locator('[data-form="password"]')
        form.get_by_label("Email").fill(email)
        form.get_by_label("Password").fill(password)
        form.get_by_role("button", name="Sign in").click()

    @property
    def message(self) -> Locator:
        return self.page.locator("[data-message]")


class RuleEditor:
    def __init__(self, page: Page) -> None:
        self.page = page

    def open_from_list(self, base_url: str, rule_name: str) -> None:
        self.page.goto(f"{base_url}/console/rules")
        self.page.get_by_role("link", name=rule_name, exact=True).click()
        expect(self.page.get_by_role("heading", name=rule_name)).to_be_visible()

    def set_field(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=True).fill(value)

    def save(self) -> None:
        self.page.get_by_role("button", name="Save rule").click()

    @property
    def saved(self) -> Locator:
        return self.page.locator("[data-saved]")

    def error(self, field: str) -> Locator:
        return self.page.locator(f'[data-error="{field}"]')


class TryLead:
    def __init__(self, page: Page) -> None:
        self.page = page

    def try_lead(self, **fields: str) -> None:
        for label, value in fields.items():
            self.page.get_by_label(label, exact=False).first.fill(value)
        self.page.get_by_role("button", name="Try it").click()

    @property
    def chosen(self) -> Locator:
        return self.page.locator("#try-result [data-chosen]")

    @property
    def rule_name(self) -> Locator:
        return self.page.locator("#try-result [data-rule-name]")
