"""Activities in a real browser: live updates between two people, and the list's filters."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts import services as accounts_services
from activities import services
from activities.models import Activity, ActivityType

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tom_and_tina(acme):
    return [
        accounts_services.create_member(
            organization=acme,
            username=name,
            email=f"{name}@example.com",
            password="x-Pass-123456",
            role="technician",
            first_name=name.capitalize(),
        )
        for name in ("tom", "tina")
    ]


def test_it_removes_a_claimed_activity_from_tinas_list_when_tom_claims_it(
    asgi_live_server, logged_in_page, maria, tom_and_tina
):
    tom, tina = tom_and_tina
    now = timezone.now()
    activity = services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Coolant pump leaking",
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + timedelta(hours=2),
        priority="high",
    )
    tina_page = logged_in_page(tina, asgi_live_server)
    tina_page.goto(f"{asgi_live_server}/")
    expect(tina_page.get_by_test_id("unclaimed")).to_contain_text("Coolant pump leaking")
    expect(tina_page.locator(".conn-state")).to_have_attribute("data-state", "open")

    tom_page = logged_in_page(tom, asgi_live_server)
    tom_page.goto(f"{asgi_live_server}/")
    expect(tom_page.locator(".conn-state")).to_have_attribute("data-state", "open")
    tom_page.get_by_test_id(f"claim-{activity.pk}").click()

    # Tina's page drops it without a reload; Tom sees it as his.
    expect(tina_page.get_by_test_id("unclaimed")).not_to_contain_text("Coolant pump leaking")
    expect(tom_page.get_by_test_id("my-activities")).to_contain_text("Coolant pump leaking")
    assert Activity.objects.get(pk=activity.pk).assigned_to == tom


def test_it_shows_a_comment_live_in_the_thread_of_another_viewer(asgi_live_server, logged_in_page, maria, carol):
    now = timezone.now()
    activity = services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Press 4 guard check",
        type=ActivityType.INSPECTION,
        start_time=now,
        end_time=now + timedelta(hours=2),
    )
    url = f"{asgi_live_server}/activities/{activity.pk}/"
    maria_page = logged_in_page(maria, asgi_live_server)
    maria_page.goto(url)
    expect(maria_page.locator(".conn-state")).to_have_attribute("data-state", "open")
    carol_page = logged_in_page(carol, asgi_live_server)
    carol_page.goto(url)
    expect(carol_page.locator(".conn-state")).to_have_attribute("data-state", "open")
    carol_page.get_by_test_id("comment-form").locator("textarea").fill("Guard latch is loose")
    carol_page.get_by_test_id("comment-form").get_by_role("button", name="Comment").click()
    expect(maria_page.get_by_test_id("thread")).to_contain_text("Guard latch is loose")
    expect(carol_page.get_by_test_id("thread")).to_contain_text("Guard latch is loose")
    expect(maria_page.get_by_test_id("thread").get_by_text("Guard latch is loose")).to_have_count(1)
    # Maria completes it; Carol's header follows.
    maria_page.get_by_test_id("status-form").locator("select").select_option("completed")
    maria_page.get_by_test_id("status-form").get_by_role("button", name="Set status").click()
    expect(carol_page.get_by_test_id("activity-status")).to_have_text("Completed")


def test_it_filters_the_list_and_keeps_the_filters_in_the_url(asgi_live_server, logged_in_page, maria):
    now = timezone.now()
    for title, kind in [
        ("Weekly safety walk", ActivityType.INSPECTION),
        ("Gearbox oil change", ActivityType.MAINTENANCE),
    ]:
        services.create_activity(
            organization=maria.organization,
            actor=maria,
            title=title,
            type=kind,
            start_time=now,
            end_time=now + timedelta(hours=2),
        )
    page = logged_in_page(maria, asgi_live_server)
    page.goto(f"{asgi_live_server}/activities/")
    expect(page.get_by_test_id("activity-row")).to_have_count(2)
    page.get_by_test_id("activity-filters").locator("select[name=type]").select_option("Maintenance")
    expect(page.get_by_test_id("activity-row")).to_have_count(1)
    expect(page.get_by_test_id("activity-results")).to_contain_text("Gearbox oil change")
    expect(page).to_have_url(re.compile(r"/activities/\?.*type=Maintenance"))
    page.reload()
    expect(page.get_by_test_id("activity-row")).to_have_count(1)
