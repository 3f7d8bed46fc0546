"""The notifications JSON API (the bell), over HTTP with the test client."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from notifications.models import Notification

from chat import services as chat_services
from nexus.notify import notify
from tests.api_client import JsonApi

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _post(client, path, data=None):
    return JsonApi(client).post(path, data)


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


def test_it_lists_the_callers_notifications_newest_first(client_for, bob, tell_bob):
    older, newer = tell_bob(2)
    message_id = int(newer.target_object_id)

    response = client_for(bob).get(f"{API}/notifications")

    assert response.status_code == 200
    body = response.json()
    assert (body["unread"], body["next_before"]) == (2, None)
    assert [item["id"] for item in body["items"]] == [newer.pk, older.pk]
    assert body["items"][0] == {
        "id": newer.pk,
        "verb": "sent a message",
        "description": "Maria in a direct message: Message 1",
        "level": "info",
        "unread": True,
        "timestamp": body["items"][0]["timestamp"],
        "actor_name": "Maria",
        "target_type": "chat.message",
        "target_id": message_id,
        "url": f"/chat/messages/{message_id}/thread/",
    }


def test_it_names_the_organization_for_notifications_of_the_system(client_for, bob, direct):
    # The system speaks in a direct conversation: both people are told, by nobody in particular.
    message = chat_services.post_system_message(conversation=direct, content="Shift starts in 10 minutes")

    (item,) = client_for(bob).get(f"{API}/notifications").json()["items"]

    assert (item["verb"], item["actor_name"]) == ("sent a message", "Acme Manufacturing")
    assert (item["target_type"], item["target_id"]) == ("chat.message", message.pk)


def test_it_shows_only_the_callers_own_notifications(client_for, carol, mallory, tell_bob):
    tell_bob(2)

    for outsider in (carol, mallory):
        body = client_for(outsider).get(f"{API}/notifications").json()
        assert body == {"items": [], "unread": 0, "next_before": None}


def test_it_filters_unread_notifications(client_for, bob, tell_bob):
    read, unread = tell_bob(2)
    read.mark_as_read()

    everything = client_for(bob).get(f"{API}/notifications").json()
    only_unread = client_for(bob).get(f"{API}/notifications", {"unread": "true"}).json()

    assert [item["unread"] for item in everything["items"]] == [True, False]
    assert [item["id"] for item in only_unread["items"]] == [unread.pk]
    assert only_unread["unread"] == everything["unread"] == 1


def test_it_pages_through_every_notification_once(client_for, bob, tell_bob):
    notifications = tell_bob(7)
    client = client_for(bob)

    seen, params = [], {"limit": 3}
    while True:
        body = client.get(f"{API}/notifications", params).json()
        assert len(body["items"]) <= 3
        seen += [item["id"] for item in body["items"]]
        if body["next_before"] is None:
            break
        params = {"limit": 3, "before": body["next_before"]}

    assert seen == [notification.pk for notification in reversed(notifications)]


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 201}, {"before": "newest"}, {"unread": "maybe"}])
def test_it_refuses_bad_list_parameters(client_for, bob, tell_bob, params):
    tell_bob()

    response = client_for(bob).get(f"{API}/notifications", params)

    assert response.status_code == 422
    assert response.json()["errors"]


def test_it_lists_notifications_in_constant_queries(client_for, maria, bob, carol, tell_bob):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client_for(bob).get(f"{API}/notifications").status_code == 200
        return len(queries)

    tell_bob(2)
    few = count()
    tell_bob(10)
    group = chat_services.create_group(actor=carol, name="Crew", members=[bob])
    for number in range(5):
        chat_services.send_message(sender=carol, conversation=group, content=f"@bob look at {number}")
    assert count() == few


def test_it_marks_chosen_notifications_read(client_for, maria, bob, carol, tell_bob):
    first, second, third = tell_bob(3)
    carols = notify(recipients=[carol], actor=maria, verb="waved", target=third.target)
    carols_notification = Notification.objects.get(recipient=carol)

    response = _post(client_for(bob), "/notifications/read", {"ids": [first.pk, third.pk, carols_notification.pk]})

    assert response.status_code == 200
    assert response.json() == {"unread": 1}
    assert list(Notification.objects.filter(recipient=bob, unread=True)) == [second]
    # Someone else's id is ignored, never marked.
    assert carols == [carol]
    carols_notification.refresh_from_db()
    assert carols_notification.unread is True


def test_it_marks_every_notification_read(client_for, bob, carol, maria, tell_bob):
    tell_bob(3)
    notify(recipients=[carol], actor=maria, verb="waved", target=maria.organization)

    response = _post(client_for(bob), "/notifications/read-all")

    assert response.status_code == 200
    assert response.json() == {"unread": 0}
    assert not Notification.objects.filter(recipient=bob, unread=True).exists()
    assert Notification.objects.filter(recipient=carol, unread=True).count() == 1
    assert client_for(bob).get(f"{API}/notifications").json()["unread"] == 0


@pytest.mark.parametrize("body", [{}, {"ids": "all"}, {"ids": ["first"]}])
def test_it_refuses_a_malformed_read_request(client_for, bob, tell_bob, body):
    tell_bob(2)

    response = _post(client_for(bob), "/notifications/read", body)

    assert response.status_code == 422
    assert Notification.objects.filter(recipient=bob, unread=True).count() == 2


def test_it_needs_authentication(client, tell_bob):
    tell_bob()

    assert client.get(f"{API}/notifications").status_code == 401
    assert _post(client, "/notifications/read-all").status_code == 401
    assert Notification.objects.filter(unread=True).count() == 1


def test_it_lists_the_notification_endpoints_in_the_openapi_schema(client):
    schema = client.get(f"{API}/openapi.json").json()

    assert set(schema["paths"]["/api/v1/notifications"]) == {"get"}
    assert set(schema["paths"]["/api/v1/notifications/read"]) == {"post"}
    assert set(schema["paths"]["/api/v1/notifications/read-all"]) == {"post"}
    assert schema["paths"]["/api/v1/notifications"]["get"]["tags"] == ["notifications"]
