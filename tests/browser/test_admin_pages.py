"""The admin pages in a real browser: organization settings, invitations, roles and members; the manager's
system messages and tags. Each at desktop and phone size, with the limits of the roles that may not use them."""

import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Invitation, Organization, User
from chat.models import SystemMessage
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.layout import assert_fits_the_width, post_from_page, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _flash(page):
    return page.locator("#flash-messages")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_changes_the_organizations_settings_refusing_bad_input(live_server, logged_in_page, alice, viewport):
    page = logged_in_page(alice, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/manage/")
    expect(page.locator("h1")).to_have_text("Administration")
    assert_fits_the_width(page)
    shoot(page, "manage")
    settings = page.get_by_test_id("organization-form")

    # The browser stops an empty name; with its check off, the server refuses it and saves nothing.
    settings.get_by_label("Name").fill("")
    settings.get_by_label("Escalation delay (minutes)").fill("0")
    settings.evaluate("form => { form.noValidate = true; }")
    settings.get_by_role("button", name="Save settings").click()
    settings = page.get_by_test_id("organization-form")
    expect(settings.locator(".errorlist")).to_have_count(2)
    expect(settings).to_contain_text("This field is required.")
    expect(settings).to_contain_text("greater than or equal to 1")
    assert Organization.objects.get(pk=alice.organization_id).name == "Acme Manufacturing"

    settings.get_by_label("Name").fill("Acme Works")
    settings.get_by_label("Escalation delay (minutes)").fill("25")
    settings.get_by_role("button", name="Save settings").click()
    expect(_flash(page)).to_contain_text("The organization's settings were saved.")
    expect(page.locator(".brand .org")).to_have_text("Acme Works")
    organization = Organization.objects.get(pk=alice.organization_id)
    assert organization.name == "Acme Works"
    assert organization.escalation_delay.total_seconds() == 25 * 60
    assert_fits_the_width(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_invites_someone_and_revokes_the_invitation(live_server, logged_in_page, alice, carol, viewport):
    page = logged_in_page(alice, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/manage/")
    invite = page.get_by_test_id("invitation-form")

    # Someone who already has an account is refused, and nobody is invited.
    invite.get_by_label("Email").fill("carol@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    expect(_flash(page)).to_contain_text("already has an account")
    assert not Invitation.objects.exists()
    assert len(mail.outbox) == 0

    invite = page.get_by_test_id("invitation-form")
    invite.get_by_label("Email").fill("nina@example.com")
    invite.get_by_label("Role").select_option("technician")
    invite.get_by_role("button", name="Send invitation").click()
    expect(_flash(page)).to_contain_text("An invitation was sent to nina@example.com.")
    row = page.get_by_test_id("invitation-row").filter(has_text="nina@example.com")
    expect(row).to_contain_text("Technician")
    expect(row).to_contain_text("pending")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nina@example.com"]
    assert_fits_the_width(page)

    row.get_by_role("button", name="Revoke").click()
    expect(_flash(page)).to_contain_text("The invitation for nina@example.com was revoked.")
    row = page.get_by_test_id("invitation-row").filter(has_text="nina@example.com")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    assert not Invitation.objects.get().is_pending


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_changes_roles_and_deactivates_people_but_not_the_last_admin(
    live_server, logged_in_page, alice, bob, carol, viewport
):
    page = logged_in_page(alice, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/manage/")

    bob_row = page.get_by_test_id("member-row").filter(has_text="@bob")
    bob_row.get_by_label("Role of bob").select_option("manager")
    bob_row.get_by_role("button", name="Change").click()
    expect(_flash(page)).to_contain_text("Bob is now Manager.")
    assert User.objects.get(pk=bob.pk).role == "manager"

    # The only admin cannot make herself something else: the organization would have nobody to run it.
    alice_row = page.get_by_test_id("member-row").filter(has_text="@alice")
    alice_row.get_by_label("Role of alice").select_option("staff")
    alice_row.get_by_role("button", name="Change").click()
    expect(_flash(page)).to_contain_text("An organization needs at least one active admin.")
    assert User.objects.get(pk=alice.pk).role == "admin"
    expect(page.get_by_test_id("member-row").filter(has_text="@alice").get_by_label("Role of alice")).to_have_value(
        "admin"
    )

    carol_row = page.get_by_test_id("member-row").filter(has_text="@carol")
    carol_row.get_by_role("button", name="Deactivate").click()
    expect(_flash(page)).to_contain_text("Carol was deactivated.")
    assert not User.objects.get(pk=carol.pk).is_active
    carol_row = page.get_by_test_id("member-row").filter(has_text="@carol")
    carol_row.get_by_role("button", name="Reactivate").click()
    expect(_flash(page)).to_contain_text("Carol was reactivated.")
    assert User.objects.get(pk=carol.pk).is_active
    assert_fits_the_width(page)


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_the_admin_page_is_not_for_managers_technicians_or_staff(
    request, live_server, logged_in_page, console_errors, persona
):
    console_errors.allow("403 \\(Forbidden\\)")
    user = request.getfixturevalue(persona)
    page = logged_in_page(user, live_server.url, viewport=PHONE)
    page.goto(f"{live_server.url}/")
    page.locator(".nav-toggle-label").click()
    expect(page.get_by_role("link", name="People")).to_be_visible()
    expect(page.locator(".mainnav").get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{live_server.url}/manage/")
    assert response.status == 403
    expect(page.get_by_test_id("error-403")).to_be_visible()  # The hub's own page, in its layout.
    page.go_back()
    # Nor can a crafted request change anything.
    assert post_from_page(page, "/manage/invitations/", {"email": "x@example.com", "role": "admin"}) == 403
    assert post_from_page(page, f"/manage/people/{user.pk}/role/", {"role": "admin"}) == 403
    assert not Invitation.objects.exists()
    assert User.objects.get(pk=user.pk).role == persona_role(persona)


def persona_role(persona: str) -> str:
    return {"maria": "manager", "bob": "technician", "carol": "staff"}[persona]


def test_another_organizations_admin_gets_404_for_acmes_people_and_invitations(
    live_server, logged_in_page, console_errors, alice, bob, mallory
):
    console_errors.allow("404 \\(Not Found\\)")
    page = logged_in_page(alice, live_server.url)
    page.goto(f"{live_server.url}/manage/")
    invite = page.get_by_test_id("invitation-form")
    invite.get_by_label("Email").fill("nina@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    expect(_flash(page)).to_contain_text("An invitation was sent")
    invitation = Invitation.objects.get()

    page = logged_in_page(mallory, live_server.url)
    page.goto(f"{live_server.url}/manage/")
    expect(page.get_by_test_id("member-row")).to_have_count(1)  # Only Mallory: Acme's people are not listed.
    expect(page.get_by_test_id("invitation-row")).to_have_count(0)
    assert post_from_page(page, f"/manage/people/{bob.pk}/role/", {"role": "staff"}) == 404
    assert post_from_page(page, f"/manage/people/{bob.pk}/active/", {"is_active": "0"}) == 404
    assert post_from_page(page, f"/manage/invitations/{invitation.pk}/revoke/", {}) == 404
    bob.refresh_from_db()
    assert bob.role == "technician" and bob.is_active
    assert Invitation.objects.get().is_pending


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_puts_up_a_system_message_and_takes_it_down(
    live_server, logged_in_page, console_errors, maria, viewport
):
    console_errors.allow("400 \\(Bad Request\\)")  # The form with errors comes back as a 400, on purpose.
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/chat/system/")
    expect(page.locator("h1")).to_have_text("System messages")
    assert_fits_the_width(page)
    form = page.get_by_test_id("system-message-form")
    # Neither everyone nor anyone chosen: refused, nothing is up.
    form.get_by_label("Title").fill("Compressed air off at 14:00")
    form.get_by_role("button", name="Put it up").click()
    form = page.get_by_test_id("system-message-form")
    expect(form.locator(".errorlist")).to_be_visible()
    assert not SystemMessage.objects.exists()

    form.get_by_label("Title").fill("Compressed air off at 14:00")
    form.get_by_label("Everyone in the organization").check()
    form.get_by_role("button", name="Put it up").click()
    expect(_flash(page)).to_contain_text("The message is up.")
    expect(page.locator("#system-banners")).to_contain_text("Compressed air off at 14:00")
    row = page.get_by_test_id("system-message-row").filter(has_text="Compressed air off at 14:00")
    shoot(page, "system-messages")
    assert_fits_the_width(page)
    row.get_by_role("button", name="Take down").click()
    expect(page.get_by_test_id("system-message-row").get_by_role("button", name="Take down")).to_have_count(0)
    assert SystemMessage.objects.get().expires_at <= timezone.now()


def test_staff_may_not_put_up_system_messages(live_server, logged_in_page, console_errors, carol):
    console_errors.allow("403 \\(Forbidden\\)")
    page = logged_in_page(carol, live_server.url)
    assert page.goto(f"{live_server.url}/chat/system/").status == 403
    page.goto(f"{live_server.url}/")
    assert post_from_page(page, "/chat/system/", {"title": "Hi", "message_type": "info", "is_broadcast": "on"}) == 403
    assert not SystemMessage.objects.exists()


def test_the_admin_page_links_the_other_admin_pages(live_server, logged_in_page, alice):
    page = logged_in_page(alice, live_server.url)
    page.goto(f"{live_server.url}/manage/")
    page.get_by_test_id("admin-links").get_by_role("link", name="System messages").click()
    expect(page).to_have_url(re.compile(r"/chat/system/$"))
    page.go_back()
    page.get_by_test_id("admin-links").get_by_role("link", name="Tags").click()
    expect(page).to_have_url(re.compile(r"/activities/tags/$"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_creates_and_deletes_a_tag_refusing_one_without_a_name(live_server, logged_in_page, maria, viewport):
    from activities.models import Tag

    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/activities/tags/")
    form = page.get_by_test_id("tag-form")
    form.evaluate("form => { form.noValidate = true; }")
    form.get_by_role("button", name="Create tag").click()
    expect(page.get_by_test_id("tag-form")).to_contain_text("This field is required.")
    assert not Tag.objects.exists()

    form = page.get_by_test_id("tag-form")
    form.get_by_label("Name").fill("Hydraulics")
    form.get_by_label("Category").fill("Systems")
    form.get_by_role("button", name="Create tag").click()
    expect(_flash(page)).to_contain_text("The tag “Hydraulics” was created.")
    row = page.get_by_test_id("tag-row").filter(has_text="Hydraulics")
    expect(row).to_contain_text("Systems")
    shoot(page, "tags")
    assert_fits_the_width(page)

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_test_id("tag-row")).to_have_count(0)
    assert not Tag.objects.exists()


def test_staff_see_the_tags_without_controls_and_may_not_create_one(
    live_server, logged_in_page, console_errors, maria, carol
):
    from activities import services as activity_services
    from activities.models import Tag

    console_errors.allow("403 \\(Forbidden\\)")
    activity_services.create_tag(actor=maria, organization=maria.organization, name="Electrical")
    page = logged_in_page(carol, live_server.url, viewport=PHONE)
    page.goto(f"{live_server.url}/activities/tags/")
    expect(page.get_by_test_id("tag-row")).to_have_count(1)
    expect(page.get_by_test_id("tag-form")).to_have_count(0)
    expect(page.get_by_test_id("tag-row").get_by_role("button")).to_have_count(0)
    assert_fits_the_width(page)
    assert post_from_page(page, "/activities/tags/", {"name": "Mine", "color": "#112233"}) == 403
    assert Tag.objects.count() == 1
