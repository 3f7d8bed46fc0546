"""Projects in a real browser: the list (search, status, pages), creating with a bad then a good input, the
detail page, editing the team and activities, cancelling; the roles that may not, and other organizations."""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from activities import services as activity_services
from projects import services
from projects.models import Project
from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.layout import assert_fits_the_width, shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _project(maria, name, **fields):
    fields.setdefault("start_date", date(2026, 3, 1))
    fields.setdefault("end_date", date(2026, 6, 30))
    fields.setdefault("manager", maria)
    return services.create_project(actor=maria, name=name, **fields)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_list_searches_filters_and_pages_keeping_the_filters(live_server, logged_in_page, maria, viewport):
    for number in range(53):
        _project(maria, f"Line {number:02d} retrofit", status="active", description="New conveyors and guards")
    _project(maria, "Paint shop extraction", status="planning")
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/projects/")
    results = page.get_by_test_id("project-results")
    expect(results).to_contain_text("54 projects")
    expect(page.get_by_test_id("project-row")).to_have_count(50)
    shoot(page, "projects")
    assert_fits_the_width(page)

    filters = page.get_by_test_id("project-filters")
    filters.get_by_label("Status").select_option("active")
    expect(results).to_contain_text("53 projects")
    expect(page).to_have_url(re.compile(r"status=active"))
    # The next page keeps the filter, and its link has one "?" (it used to have two).
    next_link = page.get_by_role("link", name="Next")
    assert re.fullmatch(r"\?(q=&)?status=active&page=2", next_link.get_attribute("href"))
    next_link.click()
    expect(results).to_contain_text("Page 2 of 2")
    expect(page.get_by_test_id("project-row")).to_have_count(3)
    expect(page).to_have_url(re.compile(r"/projects/\?(q=&)?status=active&page=2$"))
    page.reload()
    expect(page.get_by_test_id("project-row")).to_have_count(3)
    page.get_by_role("link", name="Previous").click()
    expect(page.get_by_test_id("project-row")).to_have_count(50)

    filters = page.get_by_test_id("project-filters")
    filters.get_by_label("Status").select_option("")
    filters.get_by_label("Search").fill("paint")
    expect(page.get_by_test_id("project-row")).to_have_count(1)
    expect(results).to_contain_text("Paint shop extraction")
    filters.get_by_label("Search").fill("no such project")
    expect(results).to_contain_text("No projects match.")
    assert_fits_the_width(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_creates_a_project_after_a_refused_first_try(live_server, logged_in_page, maria, bob, viewport):
    now = timezone.now()
    activity_services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Install light curtain",
        type="Maintenance",
        start_time=now,
        end_time=now + timedelta(hours=3),
    )
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/projects/")
    page.get_by_role("link", name="New project").click()
    expect(page.locator("h1")).to_have_text("New project")
    form = page.get_by_test_id("project-form")
    shoot(page, "project-form")
    assert_fits_the_width(page)

    # No name, and it ends before it starts: both said, nothing saved.
    form.get_by_label("Start date").fill("2026-05-01")
    form.get_by_label("End date").fill("2026-04-01")
    form.get_by_role("button", name="Create project").click()
    form = page.get_by_test_id("project-form")
    expect(form).to_contain_text("This field is required.")
    expect(form).to_contain_text("The end date must not be before the start date.")
    assert not Project.objects.exists()

    form.get_by_label("Name").fill("Press line safety upgrade")
    form.get_by_label("End date").fill("2026-07-31")
    form.get_by_label("Status").select_option("active")
    form.get_by_label("Bob").check()
    choices = form.get_by_label("Activities")
    choices.select_option(choices.locator("option", has_text="Install light curtain").get_attribute("value"))
    form.get_by_role("button", name="Create project").click()

    expect(page.locator("#flash-messages")).to_contain_text("The project “Press line safety upgrade” was created.")
    expect(page.locator("h1")).to_have_text("Press line safety upgrade")
    expect(page.get_by_test_id("project-team")).to_contain_text("Bob")
    expect(page.get_by_test_id("timeline-row")).to_have_count(1)
    expect(page.get_by_test_id("project-timeline")).to_contain_text("Install light curtain")
    project = Project.objects.get()
    assert (project.status, project.start_date, project.end_date) == ("active", date(2026, 5, 1), date(2026, 7, 31))
    assert list(project.team_members.all()) == [bob]
    shoot(page, "project-detail")
    assert_fits_the_width(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_manager_edits_the_team_and_cancels_the_project(live_server, logged_in_page, maria, bob, carol, viewport):
    project = _project(maria, "Compressor room", team_members=[bob])
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/projects/{project.pk}/")
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit “Compressor room”")
    form = page.get_by_test_id("project-form")
    form.get_by_label("Name").fill("   ")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("project-form")).to_contain_text("required")
    expect(page.locator("h1")).to_have_text("Edit “Compressor room”")
    assert Project.objects.get().name == "Compressor room"

    form = page.get_by_test_id("project-form")
    form.get_by_label("Name").fill("Compressor room rebuild")
    form.get_by_label("Bob").uncheck()
    form.get_by_label("Carol").check()
    form.get_by_label("Status").select_option("cancelled")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#flash-messages")).to_contain_text("was saved")
    expect(page.get_by_test_id("project-header")).to_contain_text("Cancelled")
    team = page.get_by_test_id("project-team")
    expect(team).to_contain_text("Carol")
    expect(team).not_to_contain_text("Bob")
    project.refresh_from_db()
    assert project.status == "cancelled" and list(project.team_members.all()) == [carol]
    # A cancelled project is still found under its status.
    page.goto(f"{live_server.url}/projects/?status=cancelled")
    expect(page.get_by_test_id("project-row")).to_have_count(1)
    assert_fits_the_width(page)


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_technicians_and_staff_read_projects_but_may_not_create_or_edit(
    request, live_server, logged_in_page, console_errors, maria, persona
):
    console_errors.allow("403 \\(Forbidden\\)")
    project = _project(maria, "Boiler inspection")
    page = logged_in_page(request.getfixturevalue(persona), live_server.url, viewport=PHONE)
    page.goto(f"{live_server.url}/projects/")
    expect(page.get_by_test_id("project-row")).to_have_count(1)
    expect(page.get_by_role("link", name="New project")).to_have_count(0)
    page.get_by_role("link", name="Boiler inspection").click()
    expect(page.locator("h1")).to_have_text("Boiler inspection")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    assert_fits_the_width(page)
    assert page.goto(f"{live_server.url}/projects/new/").status == 403
    assert page.goto(f"{live_server.url}/projects/{project.pk}/edit/").status == 403


def test_another_organizations_projects_are_404_and_not_listed(
    live_server, logged_in_page, console_errors, maria, mallory
):
    console_errors.allow("404 \\(Not Found\\)")
    project = _project(maria, "Acme secret line")
    page = logged_in_page(mallory, live_server.url)
    page.goto(f"{live_server.url}/projects/?q=secret")
    expect(page.get_by_test_id("project-results")).to_contain_text("No projects match.")
    assert page.goto(f"{live_server.url}/projects/{project.pk}/").status == 404
    assert page.goto(f"{live_server.url}/projects/{project.pk}/edit/").status == 404
