"""The console as a manager works it: live feed, filters and export, a lead's actions."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Download, Locator, Page

SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


class LiveDashboard:
    def __init__(self, page: Page) -> None:
        self.page = page

    def live_item(self, lead_id: str, what: str) -> Locator:
        return self.page.locator(f'#live-feed [data-live="{what}"][data-lead-id="{lead_id}"]')

    def connected(self) -> None:
        """Wait until the live stream is open, so nothing published before it is missed."""
        self.page.locator('#live[data-live-state="open"]').wait_for(state="attached")

    def search(self, text: str) -> None:
        self.page.get_by_label("Search").fill(text)

    def lead_rows(self) -> Locator:
        return self.page.locator("#leads tr[data-lead]")

    def export(self) -> Download:
        with self.page.expect_download() as download:
            self.page.locator("#leads [data-export]").click()
        return download.value

    def chart(self, key: str) -> Locator:
        return self.page.locator(f'[data-chart="{key}"]')

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


class LeadActions:
    def __init__(self, page: Page) -> None:
        self.page = page

    def reassign(self, agent: str) -> None:
        self.page.get_by_label("Offer to").select_option(label=agent)
        self.page.get_by_role("button", name="Reassign").click()

    @property
    def done(self) -> Locator:
        return self.page.locator("[data-done]")

    def steps(self, kind: str) -> Locator:
        return self.page.locator(f'[data-step="{kind}"] .step-text')
