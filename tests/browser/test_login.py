import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_logs_maria_in_shows_her_name_and_logs_her_out(live_server, page, maria):
    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/")

    page.fill("input[name=login]", "maria")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")

    expect(page.get_by_test_id("header-username")).to_have_text(maria.display_name)
    expect(page.locator("h1")).to_contain_text("Good to see you")

    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_test_id("header-username")).to_have_count(0)


def test_it_keeps_the_navigation_usable_on_a_phone(live_server, page, maria):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "maria")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    people_link = page.get_by_role("link", name="People")
    expect(people_link).to_be_hidden()
    page.locator(".nav-toggle-label").click()
    expect(people_link).to_be_visible()
    people_link.click()
    expect(page.locator("h1")).to_contain_text("People of")
