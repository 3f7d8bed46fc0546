"""The profile page in a real browser: name and picture, API tokens, and the way to two-factor authentication."""

import hashlib

import pytest
from playwright.sync_api import expect

from accounts.models import ApiToken, User
from tests.accounts.images import image_bytes
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.layout import assert_fits_the_width, post_from_page, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_it_changes_the_name_and_picture_refusing_a_file_that_is_no_image(
    live_server, logged_in_page, console_errors, carol, viewport, tmp_path
):
    page = logged_in_page(carol, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/profile/")
    expect(page.locator("h1")).to_have_text("Your profile")
    assert_fits_the_width(page)
    form = page.get_by_test_id("profile-form")

    fake = tmp_path / "picture.png"
    fake.write_bytes(b"this is not a picture")
    form.get_by_label("First name").fill("Caroline")
    form.get_by_label("Avatar").set_input_files(str(fake))
    form.get_by_role("button", name="Save profile").click()
    form = page.get_by_test_id("profile-form")
    expect(form.locator(".errorlist")).to_be_visible()
    carol.refresh_from_db()
    assert carol.first_name == "Carol"
    assert not carol.profile.avatar

    picture = tmp_path / "me.png"
    picture.write_bytes(image_bytes(size=(300, 200)))
    form.get_by_label("First name").fill("Caroline")
    form.get_by_label("Last name").fill("Weber")
    form.get_by_label("Position").fill("Line 2 operator")
    form.get_by_label("Avatar").set_input_files(str(picture))
    form.get_by_role("button", name="Save profile").click()
    expect(page.locator("#flash-messages")).to_contain_text("Your profile was saved.")
    expect(page.get_by_test_id("header-username")).to_have_text("Caroline Weber")
    # The new picture shows in the header and on the page, served from the hub.
    header_avatar = page.locator(".usermenu summary img.avatar")
    expect(header_avatar).to_have_attribute("src", f"/people/{carol.pk}/avatar/thumb/")
    assert header_avatar.evaluate("img => img.complete && img.naturalWidth > 0")
    user = User.objects.get(pk=carol.pk)
    assert (user.first_name, user.last_name, user.profile.position) == ("Caroline", "Weber", "Line 2 operator")
    assert user.profile.avatar
    shoot(page, "profile")
    assert_fits_the_width(page)

    page.get_by_test_id("profile-form").get_by_label("Remove my picture").check()
    page.get_by_test_id("profile-form").get_by_role("button", name="Save profile").click()
    expect(page.locator(".usermenu summary span.avatar")).to_have_text("CW")
    assert not User.objects.get(pk=carol.pk).profile.avatar


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_it_creates_a_token_shown_once_and_revokes_it(live_server, logged_in_page, carol, viewport):
    page = logged_in_page(carol, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/profile/")
    form = page.get_by_test_id("token-form")

    # A bad lifetime is refused by the server (the browser's own check is off here) and creates nothing.
    form.get_by_label("Name").fill("MES integration")
    form.get_by_label("Expires in (days)").fill("0")
    form.evaluate("form => { form.noValidate = true; }")
    form.get_by_role("button", name="Create token").click()
    expect(page.locator("#flash-messages")).to_contain_text("The token was not created")
    assert not ApiToken.objects.exists()

    form = page.get_by_test_id("token-form")
    form.get_by_label("Name").fill("MES integration")
    form.get_by_label("Expires in (days)").fill("30")
    form.get_by_role("button", name="Create token").click()
    secret = page.get_by_test_id("new-token").inner_text().strip()
    token = ApiToken.objects.get()
    assert token.name == "MES integration" and token.user_id == carol.pk
    assert secret not in {token.hint, ""} and secret.startswith(token.hint)
    row = page.get_by_test_id("token-row").filter(has_text="MES integration")
    expect(row).to_contain_text("active")
    shoot(page, "profile-token")
    assert_fits_the_width(page)

    # Shown once: a reload no longer has it, and the page never had the stored hash.
    page.reload()
    expect(page.get_by_test_id("new-token")).to_have_count(0)
    assert secret not in page.content()
    assert hashlib.sha256(secret.encode()).hexdigest() not in page.content()

    row = page.get_by_test_id("token-row").filter(has_text="MES integration")
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("#flash-messages")).to_contain_text("The token “MES integration” was revoked.")
    row = page.get_by_test_id("token-row").filter(has_text="MES integration")
    expect(row).to_contain_text("revoked")
    expect(row.get_by_role("button", name="Revoke")).to_have_count(0)
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_another_persons_token(live_server, logged_in_page, console_errors, carol, bob, mallory):
    console_errors.allow("404 \\(Not Found\\)")
    from accounts import services

    token, _ = services.create_api_token(user=carol, name="Carol's script")
    for outsider in (bob, mallory):
        page = logged_in_page(outsider, live_server.url)
        page.goto(f"{live_server.url}/profile/")
        expect(page.get_by_test_id("token-row")).to_have_count(0)
        assert post_from_page(page, f"/profile/tokens/{token.pk}/revoke/", {}) == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_two_factor_page_opens_from_the_profile(live_server, logged_in_page, carol, viewport):
    page = logged_in_page(carol, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/profile/")
    page.get_by_test_id("security-links").get_by_role("link", name="Two-factor authentication").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/2fa/")
    expect(page.locator("main")).to_contain_text("Authenticator")
    shoot(page, "two-factor")
    assert_fits_the_width(page)
    # Its card keeps a margin on a phone, as on a desktop, rather than touching the screen's edges.
    box = page.locator("main.auth-page").bounding_box()
    assert box["x"] >= 8 and box["x"] + box["width"] <= viewport["width"] - 8
