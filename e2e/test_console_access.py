"""A manager signs in, edits a rule and tries a lead; a manager of another team is refused."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from e2e.conftest import PHONE, Server, created, new_page
from e2e.pages.console_admin import Login, RuleEditor, TryLead, screenshot
from e2e.pages.rep_app import OVERFLOW_X

pytestmark = pytest.mark.e2e

DESKTOP = {"width": 1440, "height": 900}
SCREENS = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]


def _two_teams(api: httpx.Client) -> dict[str, str]:
    north = created(api.post("/api/v1/teams", json={"name": "North"}))["id"]
    south = created(api.post("/api/v1/teams", json={"name": "South"}))["id"]
    ana = created(api.post("/api/v1/agents", json={"name": "Ana", "team_id": north}))["id"]
    bruno = created(api.post("/api/v1/agents", json={"name": "Bruno", "team_id": south}))["id"]
    north_rule = {"name": "North Brazil", "priority": 10, "conditions": {"country": ["PT"]}}
    north_rule["pool"] = {"agent_ids": [ana]}
    created(api.post("/api/v1/rules", json=north_rule))
    south_rule = {"name": "South", "priority": 20, "pool": {"agent_ids": [bruno]}}
    return {"south_rule": created(api.post("/api/v1/rules", json=south_rule))["id"], "bruno": bruno}


@pytest.mark.parametrize("screen", SCREENS)
def test_manager_signs_in_edits_a_rule_and_tries_a_lead(
    browser: Browser, server: Server, api: httpx.Client, screen: dict[str, int]
) -> None:
    _two_teams(api)
    server.cli(
        "user", "create", "--email", "north@example.com", "--role", "manager",
        "--team", "North", "--password", "long enough secret",
    )  # fmt: skip
    context = browser.new_context(viewport=screen)
    page = new_page(context)
    name = "phone" if screen == PHONE else "desktop"

    login = Login(page, server.url)
    login.sign_in("north@example.com", "wrong")
    expect(login.message).to_have_text("Unknown email or wrong password.")
    login.sign_in("north@example.com", "long enough secret")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    editor = RuleEditor(page)
    editor.open_from_list(server.url, "North Brazil")
    editor.set_field("Country", "BR")
    editor.set_field("Accept within (minutes)", "soon")
    editor.save()
    expect(editor.error("accept_minutes")).to_have_text("The accept timeout must be a number.")
    editor.set_field("Accept within (minutes)", "5")
    editor.save()
    expect(editor.saved).to_have_text("Saved.")
    assert page.get_by_label("Country", exact=True).input_value() == "BR"
    assert page.evaluate(OVERFLOW_X) == 0
    screenshot(page, f"console-rule-editor-{name}")

    page.get_by_role("link", name="Try a lead").click()
    TryLead(page).try_lead(**{"Country (2 letters)": "BR", "Value": "1200"})
    expect(TryLead(page).chosen).to_have_text("Ana")
    expect(TryLead(page).rule_name).to_have_text("North Brazil")
    assert page.evaluate(OVERFLOW_X) == 0
    screenshot(page, f"console-try-a-lead-{name}")
    context.close()


@pytest.mark.parametrize("screen", SCREENS)
def test_manager_of_another_team_is_refused(
    browser: Browser, server: Server, api: httpx.Client, screen: dict[str, int]
) -> None:
    ids = _two_teams(api)
    link = server.cli(
        "user", "create", "--email", "n@example.com", "--role", "manager", "--team", "North"
    )
    context = browser.new_context(viewport=screen)
    page = new_page(context)
    name = "phone" if screen == PHONE else "desktop"

    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{server.url}/console/rules/{ids['south_rule']}/edit")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto(f"{server.url}/console/agents/{ids['bruno']}")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.goto(f"{server.url}/console/agents")
    expect(page.locator("[data-agent] [data-name]")).to_have_text(["Ana"])
    assert page.evaluate(OVERFLOW_X) == 0
    screenshot(page, f"console-agents-scoped-{name}")
    context.close()
