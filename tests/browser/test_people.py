"""The people page in a real browser: the organization's members, the way to invite someone for admins only."""

import pytest
from playwright.sync_api import expect

from accounts import services
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.layout import assert_fits_the_width, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def crew(alice, maria, bob, carol):
    services.update_profile(
        user=bob, first_name="Bob", last_name="Builder", phone="+49 30 1234 5678", position="Maintenance fitter"
    )
    services.update_profile(
        user=carol, first_name="Carol", last_name="", department="Assembly, line 2 and line 3 (evening shift)"
    )
    services.set_member_active(actor=alice, member=maria, is_active=False)
    return [alice, maria, bob, carol]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_it_lists_the_members_with_their_roles_and_contacts(live_server, logged_in_page, crew, viewport):
    carol = crew[3]
    page = logged_in_page(carol, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/people/")
    expect(page.locator("h1")).to_have_text("People of Acme Manufacturing")
    rows = page.get_by_test_id("person-row")
    expect(rows).to_have_count(4)
    bob_row = rows.filter(has_text="@bob")
    expect(bob_row).to_contain_text("Bob Builder")
    expect(bob_row).to_contain_text("Technician")
    expect(bob_row).to_contain_text("Maintenance fitter")
    expect(bob_row.get_by_role("link", name="+49 30 1234 5678")).to_have_attribute("href", "tel:+49 30 1234 5678")
    expect(bob_row.get_by_role("link", name="bob@example.com")).to_have_attribute("href", "mailto:bob@example.com")
    expect(rows.filter(has_text="@maria")).to_contain_text("inactive")
    # A staff member sees no admin controls.
    expect(page.get_by_test_id("invite-link")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    shoot(page, "people")
    assert_fits_the_width(page)
    if viewport == PHONE:
        # Each person is a card as wide as the screen: nothing is cut off.
        box = bob_row.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        expect(page.locator("table.stack-table thead")).to_be_hidden()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_goes_from_the_people_page_to_inviting_someone(live_server, logged_in_page, alice, viewport):
    page = logged_in_page(alice, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/people/")
    page.get_by_test_id("invite-link").click()
    expect(page).to_have_url(f"{live_server.url}/manage/#invite")
    form = page.get_by_test_id("invitation-form")
    form.get_by_label("Email").fill("nina@example.com")
    form.get_by_label("Role").select_option("manager")
    form.get_by_role("button", name="Send invitation").click()
    expect(page.locator("#flash-messages")).to_contain_text("An invitation was sent to nina@example.com.")
    expect(page.get_by_test_id("invitation-row").filter(has_text="nina@example.com")).to_contain_text("Manager")


@pytest.mark.parametrize("persona", ["maria", "bob"])
def test_managers_and_technicians_see_no_invite_link(request, live_server, logged_in_page, persona):
    page = logged_in_page(request.getfixturevalue(persona), live_server.url)
    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_test_id("person-row")).to_have_count(1)
    expect(page.get_by_test_id("invite-link")).to_have_count(0)


def test_another_organizations_people_are_not_listed_and_their_pictures_are_404(
    live_server, logged_in_page, console_errors, crew, mallory
):
    console_errors.allow("404 \\(Not Found\\)")
    bob = crew[2]
    page = logged_in_page(mallory, live_server.url)
    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_test_id("person-row")).to_have_count(1)
    expect(page.locator("main")).not_to_contain_text("Bob Builder")
    expect(page.locator("main")).not_to_contain_text("Acme")
    assert page.goto(f"{live_server.url}/people/{bob.pk}/avatar/thumb/").status == 404
