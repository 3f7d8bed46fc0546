"""Activity and tag pages: filters, htmx partials, actions, role limits and the organization boundary."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from activities import services
from activities.models import Activity, ActivityComment, ActivityType, Status, Tag

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _bulk_activities(organization, creator, count, tags):
    """Many activities quickly (no history): enough to show query counts do not grow with rows."""
    now = timezone.now()
    activities = Activity.objects.bulk_create(
        Activity(
            organization=organization,
            title=f"Bulk activity {n}",
            type=ActivityType.values[n % 10],
            status=Status.values[n % 5],
            priority=["low", "medium", "high", "urgent"][n % 4],
            start_time=now,
            end_time=now + timedelta(hours=n % 48),
            created_by=creator,
            assigned_to=creator if n % 3 else None,
        )
        for n in range(count)
    )
    Activity.tags.through.objects.bulk_create(
        Activity.tags.through(activity_id=a.pk, tag_id=t.pk) for a in activities for t in tags
    )


@pytest.fixture
def tags(maria):
    return [
        services.create_tag(actor=maria, organization=maria.organization, name=f"Tag {n}", color="#2563EB")
        for n in range(3)
    ]


def _queries(client, url, **extra):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return len(context.captured_queries)


@pytest.mark.parametrize("url_name", ["activities:list", "activities:board"])
def test_it_runs_a_constant_number_of_queries_whatever_the_rows(client_for, maria, tags, url_name):
    client = client_for(maria)
    url = reverse(url_name) + "?sort=priority"
    _bulk_activities(maria.organization, maria, 10, tags)
    client.get(url)  # The first request also fills the organization's cached directory.
    few = _queries(client, url)
    _bulk_activities(maria.organization, maria, 990, tags)
    many = _queries(client, url)
    assert few == many
    # Filters may hide whole board columns, never add queries.
    assert _queries(client, url + f"&tag={tags[0].pk}&open=1&q=Bulk") <= many


def _filter_options(client, name: str) -> str:
    page = client.get(reverse("activities:list")).content.decode()
    start = page.index(f'<select name="{name}">')
    return page[start : page.index("</select>", start)]


def test_list_rows_and_pickers_follow_changes_to_tags_and_people(client_for, alice, maria, bob, make_activity):
    """Both come from a cached per-organization directory; every change must show at once."""
    tag = services.create_tag(actor=maria, organization=maria.organization, name="Hydraulics")
    make_activity(title="Bleed the press", tags=[tag], assigned_to=bob)
    client = client_for(maria)
    assert "Hydraulics" in _filter_options(client, "tag")  # Now cached.

    services.update_tag(actor=maria, tag=tag, name="Pneumatics", color="#16A34A")
    page = client.get(reverse("activities:list")).content.decode()
    assert "Pneumatics" in page and "Hydraulics" not in page and "#16A34A" in page

    accounts_services.update_profile(user=bob, first_name="Robert", last_name="Builder")
    assert "Robert Builder" in client.get(reverse("activities:list")).content.decode()
    accounts_services.set_member_active(actor=alice, member=bob, is_active=False)
    assert "Robert Builder" not in _filter_options(client, "assignee")


def test_list_rows_name_tags_the_cached_directory_has_not_heard_of(client_for, maria, make_activity):
    """A per-process cache misses changes made by other processes; rows then reread it."""
    client = client_for(maria)
    client.get(reverse("activities:list"))  # Fills the directory.
    (tag,) = Tag.objects.bulk_create([Tag(organization=maria.organization, name="Lubrication")])  # No signal.
    activity = make_activity(title="Oil the chain")
    Activity.tags.through.objects.create(activity=activity, tag=tag)
    assert "Lubrication" in client.get(reverse("activities:list")).content.decode()


def test_it_renders_only_the_results_for_htmx(client_for, maria, make_activity):
    make_activity(title="Grease the press")
    client = client_for(maria)
    full = client.get(reverse("activities:list")).content.decode()
    partial = client.get(reverse("activities:list"), HTTP_HX_TARGET="results", **HTMX).content.decode()
    assert "<html" in full and "Grease the press" in full
    assert "<html" not in partial and "Grease the press" in partial and 'id="results"' in partial


def test_it_filters_the_list(client_for, maria, bob, tags, make_activity):
    make_activity(title="Unclaimed bearing job")
    make_activity(title="Bob's pump job", assigned_to=bob, tags=[tags[0]])
    make_activity(title="Quality audit", type=ActivityType.QUALITY, priority="urgent", description="ISO checklist")
    client = client_for(maria)

    def titles(query):
        response = client.get(reverse("activities:list") + query)
        return sorted(a.title for a in response.context["page"])

    assert titles("?unclaimed=1&type=Maintenance") == ["Unclaimed bearing job"]
    assert titles(f"?assignee={bob.pk}") == ["Bob's pump job"]
    assert titles(f"?tag={tags[0].pk}") == ["Bob's pump job"]
    assert titles("?priority=urgent") == ["Quality audit"]
    assert titles("?q=checklist") == ["Quality audit"]
    assert titles("?status=completed") == []
    today = timezone.localdate().isoformat()
    assert len(titles(f"?due_from={today}")) == 3
    assert titles("?due_to=2000-01-01") == []
    assert client_for(bob).get(reverse("activities:list") + "?mine=1").context["page"].paginator.count == 1


def test_it_explains_bad_filters(client_for, maria):
    response = client_for(maria).get(reverse("activities:list") + "?status=exploded&due_from=yesterday")
    assert response.status_code == 400
    content = response.content.decode()
    assert "Unknown status" in content and "YYYY-MM-DD" in content


def test_it_pages_through_the_list(client_for, maria, tags):
    _bulk_activities(maria.organization, maria, 60, tags)
    client = client_for(maria)
    response = client.get(reverse("activities:list") + "?sort=title&page=3")
    assert response.context["page"].number == 3
    assert len(response.context["page"]) == 10


def test_it_groups_the_board_by_status(client_for, maria, make_activity):
    make_activity(title="Planned one")
    done = make_activity(title="Done one")
    services.change_status(actor=maria, activity=done, status=Status.COMPLETED)
    columns = {c["status"]: c for c in client_for(maria).get(reverse("activities:board")).context["columns"]}
    assert [a.title for a in columns["planned"]["cards"]] == ["Planned one"]
    assert [a.title for a in columns["completed"]["cards"]] == ["Done one"]
    assert columns["overdue"]["count"] == 0


def test_it_moves_a_card_with_the_fallback_form(client_for, maria, make_activity):
    activity = make_activity()
    response = client_for(maria).post(
        reverse("activities:status", args=[activity.pk]), {"status": "in-progress", "next": "/activities/board/"}
    )
    assert response.status_code == 302 and response.url == "/activities/board/"
    assert Activity.objects.get(pk=activity.pk).status == Status.IN_PROGRESS


def test_it_does_not_redirect_to_another_site(client_for, maria, make_activity):
    activity = make_activity()
    response = client_for(maria).post(
        reverse("activities:status", args=[activity.pk]), {"status": "in-progress", "next": "https://evil.example/"}
    )
    assert response.url == reverse("activities:detail", args=[activity.pk])


def test_it_shows_the_thread_in_order(client_for, maria, bob, make_activity):
    activity = make_activity()
    services.add_comment(author=bob, activity=activity, body="<script>alert(1)</script> on my way")
    services.claim_activity(activity=activity, user=bob)
    response = client_for(maria).get(reverse("activities:detail", args=[activity.pk]))
    kinds = [entry.kind for entry in response.context["entries"]]
    assert kinds == ["created", "comment", "claimed"]
    content = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; on my way" in content
    assert "<script>alert(1)" not in content


def test_it_claims_over_htmx_and_refuses_a_second_claimer_with_the_winner(client_for, bob, acme, make_activity):
    from accounts import services as accounts_services

    tina = accounts_services.create_member(
        organization=acme, username="tina", email="tina@example.com", password="x-Pass-123456", role="technician"
    )
    activity = make_activity()
    url = reverse("activities:claim", args=[activity.pk])
    response = client_for(bob).post(url, **HTMX)
    assert response.status_code == 204
    assert "nexus:activity.changed" in response["HX-Trigger"]
    response = client_for(tina).post(url, **HTMX)
    assert response.status_code == 409
    assert response.content.decode() == "Bob already claimed this activity."
    assert Activity.objects.get(pk=activity.pk).assigned_to == bob


def test_it_posts_a_comment(client_for, carol, make_activity):
    activity = make_activity()
    response = client_for(carol).post(reverse("activities:comment", args=[activity.pk]), {"body": "Done?"}, **HTMX)
    assert response.status_code == 204
    assert activity.comments.filter(kind="comment", author=carol, body="Done?").exists()
    response = client_for(carol).post(reverse("activities:comment", args=[activity.pk]), {"body": ""}, **HTMX)
    assert response.status_code == 400 and "Write something" in response.content.decode()


def test_it_creates_an_activity_from_the_form(client_for, maria, bob, tags):
    response = client_for(maria).post(
        reverse("activities:create"),
        {
            "title": "Calibrate torque wrench",
            "description": "Yearly",
            "type": "Inspection & Audit",
            "status": "planned",
            "priority": "high",
            "start_time": "2026-12-01T08:00",
            "end_time": "2026-12-01T10:00",
            "assigned_to": bob.pk,
            "tags": [tags[0].pk, tags[1].pk],
        },
    )
    activity = Activity.objects.get(title="Calibrate torque wrench")
    assert response.status_code == 302 and response.url == reverse("activities:detail", args=[activity.pk])
    assert activity.assigned_to == bob and activity.tags.count() == 2
    # Entered in the organization's wall-clock time (Acme: Europe/Berlin, UTC+1 in December).
    assert activity.start_time.isoformat() == "2026-12-01T07:00:00+00:00"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"end_time": "2026-12-01T07:00"}, "end_time", "must not be before"),
        ({"tags": ["999999"]}, "tags", "Select a valid choice"),
        ({"assigned_to": "mallory"}, "assigned_to", "Select a valid choice"),
        ({"type": "Juggling"}, "type", "Select a valid choice"),
        ({"title": ""}, "title", "required"),
    ],
)
def test_it_shows_form_errors_and_saves_nothing(client_for, maria, mallory, change, field, message):
    data = {
        "title": "Calibrate",
        "type": "Quality",
        "status": "planned",
        "priority": "medium",
        "start_time": "2026-12-01T08:00",
        "end_time": "2026-12-01T10:00",
    }
    if change.get("assigned_to") == "mallory":
        change = {"assigned_to": mallory.pk}
    data.update(change)
    response = client_for(maria).post(reverse("activities:create"), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Activity.objects.count() == 0


def test_it_edits_an_activity_and_records_the_status_change(client_for, maria, make_activity):
    activity = make_activity()
    response = client_for(maria).post(
        reverse("activities:edit", args=[activity.pk]),
        {
            "title": "Replace spindle bearing (left)",
            "description": "",
            "type": "Maintenance",
            "status": "completed",
            "priority": "medium",
            "start_time": timezone.localtime(activity.start_time).strftime("%Y-%m-%dT%H:%M"),
            "end_time": timezone.localtime(activity.end_time).strftime("%Y-%m-%dT%H:%M"),
            "note": "Finished on night shift",
        },
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.title, activity.status) == ("Replace spindle bearing (left)", "completed")
    assert activity.status_history.filter(status="completed", notes="Finished on night shift").exists()


def test_it_manages_tags(client_for, maria, carol):
    client = client_for(maria)
    response = client.post(reverse("activities:tags"), {"name": "5S", "color": "#22C55E", "category": "Lean"})
    assert response.status_code == 302
    tag = Tag.objects.get(name="5S")
    response = client.post(reverse("activities:tags"), {"name": "5s", "color": "#22C55E"})
    assert "already a tag" in " ".join(response.context["form"].errors["name"])
    response = client.post(reverse("activities:tags"), {"name": "Bad", "color": "green"})
    assert "six hex digits" in " ".join(response.context["form"].errors["color"])
    client.post(reverse("activities:edit_tag", args=[tag.pk]), {"name": "5S audit", "color": "#22C55E"})
    assert Tag.objects.get(pk=tag.pk).name == "5S audit"
    assert client_for(carol).post(reverse("activities:tags"), {"name": "X", "color": "#000000"}).status_code == 403
    assert client_for(carol).post(reverse("activities:delete_tag", args=[tag.pk])).status_code == 403
    client.post(reverse("activities:delete_tag", args=[tag.pk]))
    assert not Tag.objects.filter(pk=tag.pk).exists()


@pytest.mark.parametrize(
    ("persona", "url_name", "method", "status"),
    [
        ("carol", "activities:create", "get", 403),
        ("bob", "activities:create", "get", 403),
        ("carol", "activities:edit", "get", 403),
        ("carol", "activities:priority", "post", 403),
        ("carol", "activities:assign", "post", 403),
        ("carol", "activities:claim", "post", 403),
        ("carol", "activities:status", "post", 403),
        ("bob", "activities:edit_tag", "get", 403),
    ],
)
def test_it_enforces_role_limits(request, client_for, make_activity, safety_tag, persona, url_name, method, status):
    activity = make_activity()
    args = [] if url_name == "activities:create" else [safety_tag.pk if "tag" in url_name else activity.pk]
    data = {"status": "completed", "priority": "low", "assigned_to": ""}
    response = getattr(client_for(request.getfixturevalue(persona)), method)(reverse(url_name, args=args), data)
    assert response.status_code == status
    assert Activity.objects.get(pk=activity.pk).status == "planned"


@pytest.mark.parametrize(
    ("url_name", "method"),
    [
        ("activities:detail", "get"),
        ("activities:edit", "get"),
        ("activities:edit", "post"),
        ("activities:claim", "post"),
        ("activities:status", "post"),
        ("activities:priority", "post"),
        ("activities:assign", "post"),
        ("activities:comment", "post"),
    ],
)
def test_it_hides_another_organizations_activities(client_for, mallory, make_activity, url_name, method):
    activity = make_activity()
    response = getattr(client_for(mallory), method)(reverse(url_name, args=[activity.pk]), {"body": "x"})
    assert response.status_code == 404
    assert ActivityComment.objects.filter(author=mallory).count() == 0


@pytest.mark.parametrize("url_name", ["activities:edit_tag", "activities:delete_tag"])
def test_it_hides_another_organizations_tags(client_for, mallory, safety_tag, url_name):
    assert client_for(mallory).post(reverse(url_name, args=[safety_tag.pk]), {"name": "x"}).status_code == 404
    assert Tag.objects.get(pk=safety_tag.pk).name == "Safety"


def test_it_lists_only_the_users_organization(client_for, mallory, make_activity):
    make_activity(title="Acme secret")
    content = client_for(mallory).get(reverse("activities:list")).content.decode()
    assert "Acme secret" not in content


@pytest.mark.parametrize(
    "url_name", ["activities:list", "activities:board", "activities:create", "activities:tags", "home"]
)
def test_it_sends_anonymous_visitors_to_log_in(client, url_name):
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_it_shows_my_work_on_the_home_page(client_for, maria, bob, make_activity):
    make_activity(title="Bob's job", assigned_to=bob)
    make_activity(title="Pool job")
    response = client_for(bob).get(reverse("home"))
    assert [a.title for a in response.context["my_activities"]] == ["Bob's job"]
    assert [a.title for a in response.context["unclaimed"]] == ["Pool job"]
    assert client_for(maria).get(reverse("home")).context["unclaimed"] is not None


def test_it_shows_no_claimable_pool_to_staff(client_for, carol, make_activity):
    make_activity(title="Pool job")
    assert client_for(carol).get(reverse("home")).context["unclaimed"] is None


@pytest.mark.parametrize(("section", "title"), [("my-activities", "Bearing job for Bob"), ("unclaimed", "Pool job")])
def test_it_refreshes_one_home_section_for_htmx(client_for, bob, make_activity, section, title):
    make_activity(title="Bearing job for Bob", assigned_to=bob)
    make_activity(title="Pool job")
    content = client_for(bob).get(reverse("home"), HTTP_HX_TARGET=section, **HTMX).content.decode()
    assert "<html" not in content and f'id="{section}"' in content and title in content
    assert "My projects" not in content


def test_it_escapes_what_people_typed_in_the_list_and_filter_bar(client_for, maria, acme, make_activity):
    from accounts import services as accounts_services

    evil = '<img src=x onerror="alert(1)">'
    tag = services.create_tag(actor=maria, organization=acme, name=f"{evil}tag", description=evil)
    eve = accounts_services.create_member(
        organization=acme, username="eve", email="eve@example.com", password="x-Pass-123456", first_name=evil
    )
    activity = make_activity(title=evil, assigned_to=eve, tags=[tag])
    content = client_for(maria).get(reverse("activities:list")).content.decode()
    assert evil not in content
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in content
    assert f'id="activity-row-{activity.pk}"' in content


def test_it_shows_each_rows_tags_and_projects(client_for, maria, safety_tag, make_activity):
    from projects import services as project_services

    activity = make_activity(title="Guard check", tags=[safety_tag])
    make_activity(title="Unrelated")
    project_services.create_project(
        actor=maria,
        name="Line 2 retrofit",
        description="",
        status="active",
        start_date=timezone.localdate(),
        end_date=timezone.localdate(),
        manager=maria,
        team_members=[],
        activities=[activity],
    )
    content = client_for(maria).get(reverse("activities:list")).content.decode()
    row = content[content.index(f'id="activity-row-{activity.pk}"') :].split("</tr>")[0]
    assert "Line 2 retrofit" in row and ">Safety</span>" in row
    other = content[content.index("Unrelated") :].split("</tr>")[0]
    assert "Line 2 retrofit" not in other and "Safety" not in other
