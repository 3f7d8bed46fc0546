"""The bell's dropdown: its panel, marking one or all read, and the owner-only rule."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from notifications.models import Notification

from activities import services as activity_services
from activities.models import ActivityType
from chat import services as chat_services
from nexus.realtime import user_group

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "bell-panel"}


@pytest.fixture
def direct(maria, bob):
    return chat_services.get_or_create_direct(user=maria, other=bob)


@pytest.fixture
def tell_bob(maria, bob, direct):
    """`tell_bob(n)`: maria sends bob n direct messages, each a notification; returns them oldest first."""

    def send(count: int = 1) -> list[Notification]:
        for number in range(count):
            chat_services.send_message(sender=maria, conversation=direct, content=f"Message {number}")
        return list(Notification.objects.filter(recipient=bob).order_by("id"))

    return send


def _assign(actor, assignee, title: str):
    now = timezone.now()
    return activity_services.create_activity(
        organization=actor.organization,
        actor=actor,
        title=title,
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + timedelta(hours=1),
        assigned_to=assignee,
    )


def _count_frames(broadcasts, user) -> list[int]:
    return [
        event["payload"]["unread"]
        for group, event in broadcasts
        if group == user_group(user.pk) and event.get("payload", {}).get("type") == "notification"
    ]


def test_it_shows_the_bell_closed_with_the_unread_count_on_every_page(client_for, bob, tell_bob):
    tell_bob(2)
    page = client_for(bob).get(reverse("home")).content.decode()
    assert 'id="notification-bell"' in page and 'aria-expanded="false"' in page
    assert 'data-count="2"' in page and 'id="bell-panel"' in page
    # The list itself is not rendered with the page: the panel loads it when opened.
    assert "Message 1" not in page


def test_it_lists_the_newest_ten_with_actor_verb_link_and_time(client_for, bob, direct, tell_bob):
    notifications = tell_bob(12)
    notifications[0].mark_as_read()

    response = client_for(bob).get(reverse("notifications-bell"), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="bell-item"') == 10
    newest = notifications[-1]
    message_id = int(newest.target_object_id)
    assert f'id="bell-item-{newest.pk}"' in html and f'id="bell-item-{notifications[1].pk}"' not in html
    assert "<strong>Maria</strong> sent a message" in html and "in a direct message: Message 11" in html
    assert f'href="/chat/{direct.pk}/#message-{message_id}"' in html
    assert "now" in html and 'data-unread="11"' in html
    assert "<html" not in html  # a fragment, not a page


def test_it_links_activities_to_their_page(client_for, maria, bob):
    activity = _assign(maria, bob, "Fix press 4")
    html = client_for(bob).get(reverse("notifications-bell"), **HTMX).content.decode()
    assert "<strong>Maria</strong> assigned you" in html and f'href="/activities/{activity.pk}/"' in html


def test_it_says_so_when_there_is_nothing(client_for, carol):
    html = client_for(carol).get(reverse("notifications-bell"), **HTMX).content.decode()
    assert "No notifications yet." in html and 'data-unread="0"' in html
    assert 'data-testid="bell-mark-all-read" disabled' in html


def test_it_loads_the_panel_in_a_constant_number_of_queries(client_for, bob, tell_bob):
    tell_bob(1)
    client = client_for(bob)
    client.get(reverse("notifications-bell"), **HTMX)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("notifications-bell"), **HTMX)
    tell_bob(9)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("notifications-bell"), **HTMX)
    assert len(many) == len(few)


def test_it_marks_one_read_and_answers_with_the_panel(
    client_for, bob, tell_bob, broadcasts, django_capture_on_commit_callbacks
):
    older, newer = tell_bob(2)
    broadcasts.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).post(reverse("notification-read", args=[older.pk]), **HTMX)

    assert response.status_code == 200
    older.refresh_from_db()
    newer.refresh_from_db()
    assert not older.unread and newer.unread
    html = response.content.decode()
    assert 'data-unread="1"' in html and f'data-read-url="/notifications/{older.pk}/read/"' not in html
    assert _count_frames(broadcasts, bob) == [1]  # every open tab of bob's gets the new count


def test_it_opens_a_notification_without_javascript_by_marking_it_read_and_following_it(
    client_for, bob, direct, tell_bob
):
    (notification,) = tell_bob(1)
    response = client_for(bob).post(reverse("notification-read", args=[notification.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"/chat/{direct.pk}/#message-{notification.target_object_id}"
    notification.refresh_from_db()
    assert not notification.unread


def test_it_refuses_get_for_marking_read(client_for, bob, tell_bob):
    (notification,) = tell_bob(1)
    assert client_for(bob).get(reverse("notification-read", args=[notification.pk])).status_code == 405
    notification.refresh_from_db()
    assert notification.unread


@pytest.mark.parametrize("who", ["carol", "mallory"])
def test_it_gives_404_for_someone_elses_notification_and_changes_nothing(request, client_for, tell_bob, who):
    (notification,) = tell_bob(1)
    stranger = request.getfixturevalue(who)
    response = client_for(stranger).post(reverse("notification-read", args=[notification.pk]), **HTMX)
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.unread


def test_it_gives_404_for_an_id_that_does_not_exist(client_for, bob):
    assert client_for(bob).post(reverse("notification-read", args=[2_000_000_000])).status_code == 404
    assert client_for(bob).post("/notifications/-1/read/").status_code == 404
    assert client_for(bob).post("/notifications/x/read/").status_code == 404


def test_it_marks_all_read_from_the_bell_and_answers_with_the_panel(
    client_for, maria, bob, carol, tell_bob, broadcasts, django_capture_on_commit_callbacks
):
    tell_bob(3)
    _assign(maria, carol, "Sweep")
    broadcasts.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).post(reverse("notifications-read-all"), **HTMX)

    assert response.status_code == 200 and 'data-unread="0"' in response.content.decode()
    assert not bob.notifications.unread().exists()
    assert carol.notifications.unread().count() == 1  # only the caller's
    assert _count_frames(broadcasts, bob) == [0]


def test_it_still_refreshes_the_notifications_page_when_marking_all_read_there(client_for, bob, tell_bob):
    tell_bob(1)
    response = client_for(bob).post(reverse("notifications-read-all"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Refresh"] == "true"


def test_it_asks_anonymous_visitors_to_log_in(client, bob, tell_bob):
    (notification,) = tell_bob(1)
    assert client.get(reverse("notifications-bell")).status_code == 302
    assert client.post(reverse("notification-read", args=[notification.pk])).status_code == 302
    notification.refresh_from_db()
    assert notification.unread


def test_the_notifications_page_links_activities_too(client_for, maria, bob):
    # Activities have no get_absolute_url; the page used to show their notifications without a link.
    activity = _assign(maria, bob, "Grease the conveyor")
    page = client_for(bob).get(reverse("notifications")).content.decode()
    assert f'<a href="/activities/{activity.pk}/">Grease the conveyor</a>' in page
