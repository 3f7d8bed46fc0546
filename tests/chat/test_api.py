"""The chat JSON API, over HTTP with the test client.

Fixtures from tests/chat/conftest.py: `crew`, a group of maria (owner), bob and
carol; `general`, a channel maria opened. alice (admin) is in neither.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as account_services
from chat import services
from chat.models import Conversation, Membership, Message, Reaction, SystemMessageDismissal
from tests.accounts.images import png_upload
from tests.api_client import API, JsonApi

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_rate_limit(settings):
    # History tests post more messages than a person may send in a few seconds.
    settings.CHAT_RATE_LIMIT = 10_000


def _say(sender, conversation, content="Hello", **fields) -> Message:
    return services.send_message(sender=sender, conversation=conversation, content=content, **fields)


def _detail(response) -> str:
    return response.json()["detail"]


# Conversations


def test_it_lists_the_callers_conversations_with_unread_counts(api_as, maria, bob, crew, general):
    _say(bob, crew, "One")
    _say(bob, crew, "Two")
    _say(maria, general, "Mine, so read")
    crew.refresh_from_db()
    general.refresh_from_db()

    response = api_as(maria).get("/chat/conversations")

    assert response.status_code == 200
    body = response.json()
    assert body["total_unread"] == 2
    items = {item["id"]: item for item in body["items"]}
    assert items[crew.pk] == {
        "id": crew.pk,
        "kind": "group",
        "title": "Night shift",
        "topic": "",
        "unread": 2,
        "muted": False,
        "last_message_at": items[crew.pk]["last_message_at"],
    }
    assert items[crew.pk]["last_message_at"] is not None
    assert items[general.pk]["title"] == "#general"
    assert items[general.pk]["topic"] == "Everything else"
    assert items[general.pk]["unread"] == 0
    # Newest activity first.
    assert [item["id"] for item in body["items"]] == [general.pk, crew.pk]


def test_it_leaves_muted_conversations_out_of_the_total(api_as, maria, bob, crew):
    _say(bob, crew)
    services.set_muted(user=maria, conversation=crew, muted=True)

    body = api_as(maria).get("/chat/conversations").json()

    assert body["items"][0]["unread"] == 1
    assert body["items"][0]["muted"] is True
    assert body["total_unread"] == 0


def test_it_lists_only_the_callers_own_conversations(api_as, alice, mallory, crew, general):
    assert api_as(alice).get("/chat/conversations").json() == {"items": [], "total_unread": 0}
    assert api_as(mallory).get("/chat/conversations").json() == {"items": [], "total_unread": 0}


def test_it_lists_conversations_in_constant_queries(api_as, maria, bob, carol, crew):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api_as(maria).get("/chat/conversations").status_code == 200
        return len(queries)

    services.get_or_create_direct(user=maria, other=bob)
    few = count()
    services.get_or_create_direct(user=maria, other=carol)
    for number in range(5):
        group = services.create_group(actor=bob, name=f"Group {number}", members=[maria])
        _say(bob, group)
    assert count() == few


def test_it_creates_a_group(api_as, alice, bob, carol):
    response = api_as(alice).post(
        "/chat/conversations", {"kind": "group", "name": "Line 3", "member_ids": [bob.pk, carol.pk]}
    )

    assert response.status_code == 201
    body = response.json()
    group = Conversation.objects.get(pk=body["id"])
    assert (group.kind, group.name, group.created_by) == ("group", "Line 3", alice)
    assert body["title"] == "Line 3"
    assert body["is_member"] is True
    assert sorted((member["id"], member["name"], member["role"]) for member in body["members"]) == sorted(
        [(alice.pk, "Alice", "owner"), (bob.pk, "Bob", "member"), (carol.pk, "Carol", "member")]
    )


def test_it_creates_a_channel_with_a_topic_and_first_members(api_as, maria, bob):
    response = api_as(maria).post(
        "/chat/conversations",
        {"kind": "channel", "name": "maintenance", "topic": "Who fixes what", "member_ids": [bob.pk]},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["title"], body["topic"]) == ("channel", "#maintenance", "Who fixes what")
    assert {member["id"] for member in body["members"]} == {maria.pk, bob.pk}


def test_it_opens_a_direct_conversation_once(api_as, maria, bob):
    first = api_as(maria).post("/chat/conversations", {"kind": "direct", "member_ids": [bob.pk]})
    again = api_as(bob).post("/chat/conversations", {"kind": "direct", "member_ids": [maria.pk, bob.pk]})

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["title"] == "Bob"
    assert again.json()["title"] == "Maria"
    assert Conversation.objects.filter(kind="direct").count() == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"kind": "direct", "member_ids": []}, "member_ids: A direct conversation is with exactly one other person."),
        (
            {"kind": "direct", "name": "Us", "member_ids": []},
            "name: A direct conversation is named after the other person.",
        ),
        ({"kind": "group", "name": "  ", "member_ids": []}, "name: Give the group a name."),
        ({"kind": "group", "name": "Crew", "topic": "Hi"}, "topic: Only channels have a topic."),
        ({"kind": "channel", "name": "General"}, "name: There is already a channel named 'General'."),
    ],
)
def test_it_refuses_a_bad_conversation_and_creates_nothing(api_as, maria, general, body, reason):
    before = (Conversation.objects.count(), Membership.objects.count())

    response = api_as(maria).post("/chat/conversations", body)

    assert response.status_code == 400
    assert _detail(response) == reason
    assert (Conversation.objects.count(), Membership.objects.count()) == before


def test_it_refuses_a_direct_conversation_with_two_others(api_as, maria, bob, carol):
    response = api_as(maria).post("/chat/conversations", {"kind": "direct", "member_ids": [bob.pk, carol.pk]})

    assert response.status_code == 400
    assert _detail(response) == "member_ids: A direct conversation is with exactly one other person."
    assert not Conversation.objects.exists()


@pytest.mark.parametrize(
    "body", [{"kind": "lobby", "name": "Lobby"}, {"name": "No kind"}, {"kind": "group", "member_ids": "all"}]
)
def test_it_refuses_a_malformed_conversation(api_as, maria, body):
    response = api_as(maria).post("/chat/conversations", body)

    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"]
    assert not Conversation.objects.exists()


@pytest.mark.parametrize("kind", ["direct", "group", "channel"])
def test_it_refuses_people_of_another_organization_naming_them(api_as, maria, bob, mallory, kind):
    member_ids = [mallory.pk] if kind == "direct" else [bob.pk, mallory.pk, 999_999]

    response = api_as(maria).post("/chat/conversations", {"kind": kind, "name": "Mixed", "member_ids": member_ids})

    assert response.status_code == 400
    missing = ", ".join(str(pk) for pk in member_ids if pk != bob.pk)
    noun = "person" if kind == "direct" else "people"
    assert _detail(response) == f"member_ids: Unknown {noun} {missing}."
    assert not Conversation.objects.exists()


def test_it_refuses_a_deactivated_person(api_as, maria, bob, alice):
    account_services.set_member_active(actor=alice, member=bob, is_active=False)

    response = api_as(maria).post("/chat/conversations", {"kind": "direct", "member_ids": [bob.pk]})

    assert response.status_code == 400
    assert "deactivated" in _detail(response)


def test_it_creates_no_channel_when_a_first_member_is_refused(api_as, alice, maria, bob):
    account_services.set_member_active(actor=alice, member=bob, is_active=False)

    response = api_as(maria).post("/chat/conversations", {"kind": "channel", "name": "ops", "member_ids": [bob.pk]})

    assert response.status_code == 400
    assert _detail(response) == "members: Bob is deactivated."
    assert not Conversation.objects.exists()


def test_it_refuses_a_direct_conversation_with_oneself(api_as, maria):
    response = api_as(maria).post("/chat/conversations", {"kind": "direct", "member_ids": [maria.pk]})

    assert response.status_code == 400
    assert _detail(response) == "member_ids: A direct conversation is with exactly one other person."
    assert not Conversation.objects.exists()


def test_it_shows_a_conversation_with_its_members(api_as, carol, bob, crew):
    _say(bob, crew)

    response = api_as(carol).get(f"/chat/conversations/{crew.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "group"
    assert (body["is_member"], body["muted"], body["unread"], body["is_archived"]) == (True, False, 1, False)
    assert [member["name"] for member in body["members"]] == ["Bob", "Carol", "Maria"]


def test_it_hides_conversations_of_another_organization(api_as, mallory, maria, crew, general):
    message = _say(maria, general)
    mallory_api = api_as(mallory)

    for conversation in (crew, general):
        assert mallory_api.get(f"/chat/conversations/{conversation.pk}").status_code == 404
        assert mallory_api.get(f"/chat/conversations/{conversation.pk}/messages").status_code == 404
        for action in ("join", "leave", "read"):
            assert mallory_api.post(f"/chat/conversations/{conversation.pk}/{action}").status_code == 404
        assert mallory_api.post(f"/chat/conversations/{conversation.pk}/mute", {"muted": True}).status_code == 404
        response = mallory_api.post(f"/chat/conversations/{conversation.pk}/messages", {"content": "Hi"})
        assert response.status_code == 404
        assert _detail(response) == "Not found."
    assert mallory_api.get(f"/chat/messages/{message.pk}/thread").status_code == 404
    assert mallory_api.patch(f"/chat/messages/{message.pk}", {"content": "Mine now"}).status_code == 404
    assert mallory_api.delete(f"/chat/messages/{message.pk}").status_code == 404
    assert mallory_api.post(f"/chat/messages/{message.pk}/reactions", {"emoji": "👍"}).status_code == 404
    assert not Membership.objects.filter(user=mallory).exists()
    message.refresh_from_db()
    assert (message.content, message.deleted_at) == ("Hello", None)


def test_it_hides_a_group_from_people_outside_it(api_as, alice, bob, crew):
    message = _say(bob, crew, "Crew only")
    outsider = api_as(alice)

    assert outsider.get(f"/chat/conversations/{crew.pk}").status_code == 404
    assert outsider.get(f"/chat/conversations/{crew.pk}/messages").status_code == 404
    assert outsider.get(f"/chat/messages/{message.pk}/thread").status_code == 404
    assert outsider.post(f"/chat/conversations/{crew.pk}/join").status_code == 404
    # Administrators moderate, but they do not read groups they are not in.
    assert outsider.delete(f"/chat/messages/{message.pk}").status_code == 404
    assert outsider.get("/chat/search", {"q": "Crew"}).json() == {"items": []}


def test_it_lets_anyone_in_the_organization_read_a_channel_before_joining(api_as, maria, bob, general):
    _say(maria, general, "Welcome")

    detail = api_as(bob).get(f"/chat/conversations/{general.pk}")
    history = api_as(bob).get(f"/chat/conversations/{general.pk}/messages")

    assert detail.status_code == 200
    assert (detail.json()["is_member"], detail.json()["unread"]) == (False, 0)
    assert history.status_code == 200
    assert [item["content"] for item in history.json()["items"]] == ["Welcome"]


def test_it_joins_a_channel_with_earlier_messages_read(api_as, maria, bob, general):
    _say(maria, general, "Before bob came")

    response = api_as(bob).post(f"/chat/conversations/{general.pk}/join")

    assert response.status_code == 200
    assert (response.json()["is_member"], response.json()["unread"]) == (True, 0)
    assert Membership.objects.filter(conversation=general, user=bob).exists()
    assert api_as(bob).post(f"/chat/conversations/{general.pk}/join").status_code == 200
    assert Membership.objects.filter(conversation=general, user=bob).count() == 1


def test_it_refuses_to_join_a_group(api_as, bob, crew):
    response = api_as(bob).post(f"/chat/conversations/{crew.pk}/join")

    assert response.status_code == 403
    assert _detail(response) == "Only channels of your organization can be joined."


def test_it_leaves_a_channel(api_as, maria, general):
    response = api_as(maria).post(f"/chat/conversations/{general.pk}/leave")

    assert response.status_code == 204
    assert not Membership.objects.filter(conversation=general, user=maria).exists()
    # Still public: the channel is readable, and leaving again says why not.
    assert api_as(maria).get(f"/chat/conversations/{general.pk}").json()["is_member"] is False
    assert api_as(maria).post(f"/chat/conversations/{general.pk}/leave").status_code == 403


def test_it_refuses_to_leave_a_direct_conversation(api_as, maria, bob):
    direct = services.get_or_create_direct(user=maria, other=bob)

    response = api_as(maria).post(f"/chat/conversations/{direct.pk}/leave")

    assert response.status_code == 400
    assert _detail(response) == "You cannot leave a direct conversation; mute it instead."
    assert Membership.objects.filter(conversation=direct).count() == 2


def test_it_mutes_and_unmutes(api_as, bob, crew):
    muted = api_as(bob).post(f"/chat/conversations/{crew.pk}/mute", {"muted": True})
    assert muted.status_code == 200
    assert muted.json()["muted"] is True
    assert Membership.objects.get(conversation=crew, user=bob).muted is True

    unmuted = api_as(bob).post(f"/chat/conversations/{crew.pk}/mute", {"muted": False})
    assert unmuted.json()["muted"] is False
    assert Membership.objects.get(conversation=crew, user=bob).muted is False


def test_it_refuses_a_mute_without_a_value(api_as, bob, crew):
    response = api_as(bob).post(f"/chat/conversations/{crew.pk}/mute", {})

    assert response.status_code == 422
    assert Membership.objects.get(conversation=crew, user=bob).muted is False


def test_it_marks_a_conversation_read(api_as, maria, carol, crew):
    first, _, _ = (_say(maria, crew, f"Message {number}") for number in range(3))
    carol_api = api_as(carol)

    partly = carol_api.post(f"/chat/conversations/{crew.pk}/read", {"up_to": first.pk})
    assert (partly.status_code, partly.json()) == (200, {"unread": 2})
    everything = carol_api.post(f"/chat/conversations/{crew.pk}/read")
    assert everything.json() == {"unread": 0}
    # The mark only moves forward.
    assert carol_api.post(f"/chat/conversations/{crew.pk}/read", {"up_to": first.pk}).json() == {"unread": 0}


def test_it_refuses_a_bad_read_mark(api_as, maria, carol, crew):
    _say(maria, crew)

    response = api_as(carol).post(f"/chat/conversations/{crew.pk}/read", {"up_to": -1})

    assert response.status_code == 400
    assert _detail(response) == "up_to: Give a message id."
    assert Membership.objects.get(conversation=crew, user=carol).last_read_message_id is None
    assert api_as(carol).post(f"/chat/conversations/{crew.pk}/read", {"up_to": "last"}).status_code == 422


# Messages


def test_it_sends_a_message(api_as, maria, bob, crew):
    response = api_as(maria).post(f"/chat/conversations/{crew.pk}/messages", {"content": "**Stop** line 2, @bob"})

    assert response.status_code == 201
    body = response.json()
    message = Message.objects.get()
    assert body == {
        "id": message.pk,
        "conversation": crew.pk,
        "sender": {"id": maria.pk, "name": "Maria"},
        "type": "text",
        "content": "**Stop** line 2, @bob",
        "html": message.content_html,
        "parent": None,
        "reply_count": 0,
        "last_reply_at": None,
        "attachment": None,
        "created_at": body["created_at"],
        "edited_at": None,
        "deleted": False,
        "reactions": [],
    }
    assert "<strong>Stop</strong>" in body["html"]
    assert list(message.mentions.all()) == [bob]


def test_it_sends_with_an_api_token(client, maria, crew):
    _, raw = account_services.create_api_token(user=maria, name="script")
    token_api = JsonApi(client, {"Authorization": f"Bearer {raw}"})

    response = token_api.post(f"/chat/conversations/{crew.pk}/messages", {"content": "From a script"})

    assert response.status_code == 201
    assert token_api.get(f"/chat/conversations/{crew.pk}/messages").json()["items"][0]["content"] == "From a script"


def test_it_replies_in_a_thread(api_as, maria, bob, crew):
    root = _say(maria, crew, "Who has the key?")

    response = api_as(bob).post(f"/chat/conversations/{crew.pk}/messages", {"content": "I do", "parent": root.pk})

    assert response.status_code == 201
    assert response.json()["parent"] == root.pk
    history = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages").json()["items"]
    assert [(item["id"], item["reply_count"]) for item in history] == [(root.pk, 1)]
    reply_id = response.json()["id"]
    for message_id in (root.pk, reply_id):
        thread = api_as(maria).get(f"/chat/messages/{message_id}/thread")
        assert thread.status_code == 200
        assert thread.json()["root"]["id"] == root.pk
        assert [reply["content"] for reply in thread.json()["replies"]] == ["I do"]


def test_it_refuses_a_parent_outside_the_conversation(api_as, maria, mallory, crew, general):
    elsewhere = _say(maria, general, "In the channel")
    globex_channel = services.create_channel(actor=mallory, name="globex")
    foreign = _say(mallory, globex_channel, "Globex")

    for parent in (elsewhere, foreign):
        response = api_as(maria).post(f"/chat/conversations/{crew.pk}/messages", {"content": "Re", "parent": parent.pk})
        assert response.status_code == 400
        assert _detail(response) == f"parent: Unknown message {parent.pk} in this conversation."
    assert not crew.messages.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "content: Write something first."),
        ("  \n ", "content: Write something first."),
    ],
)
def test_it_refuses_an_empty_or_too_long_message(api_as, maria, crew, content, reason):
    response = api_as(maria).post(f"/chat/conversations/{crew.pk}/messages", {"content": content})

    assert response.status_code == 400
    assert _detail(response) == reason
    assert not Message.objects.exists()


def test_it_refuses_text_longer_than_the_schema_states(api_as, maria, bob, crew):
    message = _say(maria, crew)
    too_long = [
        ("/chat/conversations", {"kind": "group", "name": "x" * 81}),
        (f"/chat/conversations/{crew.pk}/messages", {"content": "x" * 10_001}),
        (f"/chat/messages/{message.pk}/reactions", {"emoji": "👍" * 17}),
    ]
    for path, body in too_long:
        response = api_as(maria).post(path, body)
        assert response.status_code == 422, path
        assert "at most" in response.json()["errors"][0]["msg"]
    assert Message.objects.count() == 1 and not Reaction.objects.exists()


def test_it_refuses_a_message_without_content(api_as, maria, crew):
    response = api_as(maria).post(f"/chat/conversations/{crew.pk}/messages", {"parent": None})

    assert response.status_code == 422
    assert not Message.objects.exists()


def test_it_refuses_posts_to_a_channel_not_joined(api_as, bob, general):
    response = api_as(bob).post(f"/chat/conversations/{general.pk}/messages", {"content": "Hi"})

    assert response.status_code == 403
    assert _detail(response) == "Join the conversation first."
    assert not Message.objects.exists()


def test_it_slows_down_a_sender_who_sends_too_fast(api_as, maria, crew, settings):
    settings.CHAT_RATE_LIMIT = 2
    maria_api = api_as(maria)

    statuses = [
        maria_api.post(f"/chat/conversations/{crew.pk}/messages", {"content": f"Spam {n}"}).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]
    assert Message.objects.count() == 2


def test_it_sends_a_file(api_as, maria, bob, crew):
    upload = SimpleUploadedFile("report.csv", b"machine,hours\n1,20\n", content_type="text/csv")

    response = api_as(maria).upload(f"/chat/conversations/{crew.pk}/files", {"file": upload, "content": "Hours"})

    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["content"]) == ("file", "Hours")
    attachment = body["attachment"]
    assert (attachment["name"], attachment["size"], attachment["type"]) == ("report.csv", 19, "text/csv")
    assert attachment["thumbnail_url"] is None
    download = api_as(bob).get(attachment["url"].removeprefix(API))
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"machine,hours\n1,20\n"
    assert download["Content-Disposition"].startswith("attachment")
    assert api_as(bob).get(f"/chat/messages/{body['id']}/thumbnail").status_code == 404


def test_it_sends_an_image_with_a_thumbnail(api_as, maria, bob, crew):
    response = api_as(maria).upload(f"/chat/conversations/{crew.pk}/files", {"file": png_upload()})

    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["content"]) == ("image", "")
    thumbnail = api_as(bob).get(body["attachment"]["thumbnail_url"].removeprefix(API))
    assert (thumbnail.status_code, thumbnail["Content-Type"]) == (200, "image/jpeg")


def test_it_refuses_an_upload_without_a_file_or_of_another_organization(api_as, maria, mallory, crew):
    missing = api_as(maria).upload(f"/chat/conversations/{crew.pk}/files", {"content": "No file"})
    empty = api_as(maria).upload(f"/chat/conversations/{crew.pk}/files", {"file": SimpleUploadedFile("empty.txt", b"")})
    foreign = api_as(mallory).upload(
        f"/chat/conversations/{crew.pk}/files", {"file": SimpleUploadedFile("a.txt", b"a")}
    )

    assert missing.status_code == 422
    assert (empty.status_code, _detail(empty)) == (400, "file: The file is empty.")
    assert foreign.status_code == 404
    assert not Message.objects.exists()


def test_it_walks_the_whole_history_without_gaps_or_duplicates(api_as, maria, bob, crew):
    top_level = [_say(maria if n % 2 else bob, crew, f"Message {n}").pk for n in range(23)]
    _say(bob, crew, "A reply", parent=Message.objects.get(pk=top_level[5]))
    bob_api = api_as(bob)

    newest = bob_api.get(f"/chat/conversations/{crew.pk}/messages", {"limit": 10}).json()
    assert newest["next_after"] is None
    seen, page = [], newest
    while True:
        ids = [item["id"] for item in page["items"]]
        assert ids == sorted(ids)
        seen = ids + seen
        if page["next_before"] is None:
            break
        page = bob_api.get(f"/chat/conversations/{crew.pk}/messages", {"before": page["next_before"], "limit": 10})
        page = page.json()
    assert seen == top_level

    forward, page = [], bob_api.get(f"/chat/conversations/{crew.pk}/messages", {"after": 0, "limit": 7}).json()
    while True:
        forward += [item["id"] for item in page["items"]]
        if page["next_after"] is None:
            break
        page = bob_api.get(f"/chat/conversations/{crew.pk}/messages", {"after": page["next_after"], "limit": 7})
        page = page.json()
    assert forward == top_level


def test_it_answers_an_empty_history(api_as, maria, crew):
    body = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages").json()

    assert body == {"items": [], "next_before": None, "next_after": None}


@pytest.mark.parametrize(
    "params",
    [{"before": "abc"}, {"after": "1.5"}, {"before": 0}, {"limit": 0}, {"limit": 201}],
)
def test_it_refuses_a_bad_cursor(api_as, maria, crew, params):
    _say(maria, crew)

    response = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages", params)

    assert response.status_code == 422
    assert response.json()["errors"]


def test_it_refuses_both_cursors_at_once(api_as, maria, crew):
    message = _say(maria, crew)

    response = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages", {"before": message.pk, "after": 1})

    assert response.status_code == 400
    assert _detail(response) == "Give `before` or `after`, not both."


def test_it_lists_messages_in_constant_queries(api_as, maria, bob, carol, crew):
    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages", {"limit": 200})
            assert response.status_code == 200
        return len(queries), len(response.json()["items"])

    def add(number):
        for n in range(number):
            message = _say([maria, bob, carol][n % 3], crew, f"Message {n}")
            services.toggle_reaction(user=bob, message=message, emoji="👍")
            services.toggle_reaction(user=carol, message=message, emoji="🎉")
            _say(carol, crew, "Reply", parent=message)

    add(2)
    few, shown = count()
    add(20)
    many, shown_then = count()
    assert (shown, shown_then) == (2, 22)
    assert many == few


def test_it_edits_the_senders_message(api_as, maria, crew):
    message = _say(maria, crew, "Line 2 is down")

    response = api_as(maria).patch(f"/chat/messages/{message.pk}", {"content": "Line *3* is down"})

    assert response.status_code == 200
    body = response.json()
    assert body["content"] == "Line *3* is down"
    assert "<em>3</em>" in body["html"]
    assert body["edited_at"] is not None
    message.refresh_from_db()
    assert message.content == "Line *3* is down"


@pytest.mark.parametrize("editor", ["alice", "bob"])
def test_it_lets_only_the_sender_edit(api_as, request, maria, bob, general, editor):
    services.join_channel(user=bob, conversation=general)
    message = _say(maria, general, "Original")

    response = api_as(request.getfixturevalue(editor)).patch(f"/chat/messages/{message.pk}", {"content": "Changed"})

    assert response.status_code == 403
    assert _detail(response) == "Only the sender may do that to a message."
    message.refresh_from_db()
    assert (message.content, message.edited_at) == ("Original", None)


def test_it_refuses_an_empty_edit(api_as, maria, crew):
    message = _say(maria, crew, "Keep me")

    response = api_as(maria).patch(f"/chat/messages/{message.pk}", {"content": " "})

    assert response.status_code == 400
    assert _detail(response) == "content: Write something first."
    message.refresh_from_db()
    assert message.content == "Keep me"


def test_it_deletes_the_senders_message_leaving_a_marker(api_as, maria, bob, crew):
    message = _say(bob, crew, "Oops")
    services.toggle_reaction(user=maria, message=message, emoji="👍")

    response = api_as(bob).delete(f"/chat/messages/{message.pk}")

    assert response.status_code == 204
    (item,) = api_as(maria).get(f"/chat/conversations/{crew.pk}/messages").json()["items"]
    assert (item["id"], item["deleted"], item["content"], item["html"]) == (message.pk, True, "", "")
    assert item["reactions"] == []
    assert api_as(bob).patch(f"/chat/messages/{message.pk}", {"content": "Back"}).status_code == 400


def test_it_lets_an_administrator_delete_any_message(api_as, alice, bob, general):
    services.join_channel(user=bob, conversation=general)
    message = _say(bob, general, "Off topic")

    response = api_as(alice).delete(f"/chat/messages/{message.pk}")

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.is_deleted


def test_it_refuses_a_delete_by_anyone_else(api_as, maria, bob, crew):
    message = _say(bob, crew, "Mine")

    response = api_as(maria).delete(f"/chat/messages/{message.pk}")

    assert response.status_code == 403
    message.refresh_from_db()
    assert (message.content, message.deleted_at) == ("Mine", None)


def test_it_toggles_a_reaction(api_as, maria, bob, crew):
    message = _say(maria, crew)
    bob_api = api_as(bob)

    added = bob_api.post(f"/chat/messages/{message.pk}/reactions", {"emoji": "👍"})
    assert added.status_code == 200
    assert added.json() == {
        "reacted": True,
        "reactions": [{"emoji": "👍", "count": 1, "users": [bob.pk], "names": ["Bob"]}],
    }
    removed = bob_api.post(f"/chat/messages/{message.pk}/reactions", {"emoji": "👍"})
    assert removed.json() == {"reacted": False, "reactions": []}
    assert not Reaction.objects.exists()


@pytest.mark.parametrize(
    ("emoji", "reason"),
    [("", "emoji: Pick an emoji."), ("lol", "emoji: A reaction is an emoji, not text.")],
)
def test_it_refuses_a_reaction_that_is_not_an_emoji(api_as, maria, bob, crew, emoji, reason):
    message = _say(maria, crew)

    response = api_as(bob).post(f"/chat/messages/{message.pk}/reactions", {"emoji": emoji})

    assert response.status_code == 400
    assert _detail(response) == (reason or "emoji: Pick an emoji.")
    assert not Reaction.objects.exists()


def test_it_refuses_reactions_from_people_outside_a_channel(api_as, maria, bob, general):
    message = _say(maria, general)

    response = api_as(bob).post(f"/chat/messages/{message.pk}/reactions", {"emoji": "👍"})

    assert response.status_code == 403
    assert not Reaction.objects.exists()


# Search


def test_it_searches_what_the_caller_can_see(api_as, maria, bob, carol, alice, crew, general):
    in_group = _say(bob, crew, "The spindle bearing is worn")
    in_channel = _say(maria, general, "Spindle parts arrive Monday")
    _say(maria, general, "Nothing to see")
    direct = services.get_or_create_direct(user=alice, other=maria)
    _say(alice, direct, "Private spindle talk")

    carol_results = api_as(carol).get("/chat/search", {"q": "spindle"})
    alice_results = api_as(alice).get("/chat/search", {"q": "spindle"}).json()["items"]

    assert carol_results.status_code == 200
    items = carol_results.json()["items"]
    assert {(item["id"], item["conversation_title"]) for item in items} == {
        (in_channel.pk, "#general"),
        (in_group.pk, "Night shift"),
    }
    assert {item["sender"]["name"] for item in items} == {"Maria", "Bob"}
    assert {(item["conversation"], item["conversation_title"]) for item in alice_results} == {
        (direct.pk, "Maria"),
        (general.pk, "#general"),
    }


def test_it_keeps_search_within_the_organization(api_as, maria, mallory, general):
    _say(maria, general, "Acme secret plan")

    assert api_as(mallory).get("/chat/search", {"q": "secret"}).json() == {"items": []}


def test_it_refuses_a_search_without_words(api_as, maria):
    assert api_as(maria).get("/chat/search").status_code == 422
    assert api_as(maria).get("/chat/search", {"q": "   "}).json() == {"items": []}


def test_it_searches_in_constant_queries(api_as, maria, bob, carol, crew, general):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert api_as(maria).get("/chat/search", {"q": "pump"}).status_code == 200
        return len(queries)

    for person in (bob, carol):
        direct = services.get_or_create_direct(user=maria, other=person)
        message = _say(person, direct, "The pump leaks")
        services.toggle_reaction(user=maria, message=message, emoji="👀")
    few = count()
    for n in range(10):
        message = _say(bob, crew, f"Pump {n}")
        services.toggle_reaction(user=carol, message=message, emoji="👀")
        _say(maria, general, f"Pump report {n}")
    assert count() == few


# System messages


def test_it_lists_and_dismisses_the_callers_banners(api_as, maria, bob, carol):
    everyone = services.create_system_message(
        organization=maria.organization, actor=maria, title="Fire drill at 10", is_broadcast=True
    )
    for_carol = services.create_system_message(
        organization=maria.organization,
        actor=maria,
        title="Your badge expires",
        message_type="warning",
        target_users=[carol],
        expires_at=timezone.now() + timedelta(days=1),
    )

    bob_banners = api_as(bob).get("/chat/system-messages")
    carol_banners = api_as(carol).get("/chat/system-messages").json()

    assert bob_banners.status_code == 200
    (banner,) = bob_banners.json()
    assert banner == {
        "id": everyone.pk,
        "title": "Fire drill at 10",
        "content": "",
        "level": "info",
        "is_broadcast": True,
        "created_at": banner["created_at"],
        "expires_at": None,
    }
    assert [(item["id"], item["level"]) for item in carol_banners] == [(for_carol.pk, "warning"), (everyone.pk, "info")]

    assert api_as(bob).post(f"/chat/system-messages/{everyone.pk}/dismiss").status_code == 204
    assert api_as(bob).post(f"/chat/system-messages/{everyone.pk}/dismiss").status_code == 204
    assert api_as(bob).get("/chat/system-messages").json() == []
    assert SystemMessageDismissal.objects.filter(user=bob).count() == 1


def test_it_hides_banners_addressed_to_others(api_as, maria, bob, carol, mallory):
    for_carol = services.create_system_message(
        organization=maria.organization, actor=maria, title="Carol only", target_users=[carol]
    )

    assert api_as(bob).post(f"/chat/system-messages/{for_carol.pk}/dismiss").status_code == 404
    assert api_as(mallory).post(f"/chat/system-messages/{for_carol.pk}/dismiss").status_code == 404
    assert api_as(mallory).get("/chat/system-messages").json() == []
    assert not SystemMessageDismissal.objects.exists()


# Schema


def test_it_needs_authentication(client, crew):
    response = client.get(f"{API}/chat/conversations")

    assert response.status_code == 401


def test_it_lists_the_chat_endpoints_in_the_openapi_schema(client):
    schema = client.get(f"{API}/openapi.json").json()
    expected = {
        "/api/v1/chat/conversations": {"get", "post"},
        "/api/v1/chat/conversations/{conversation_id}": {"get"},
        "/api/v1/chat/conversations/{conversation_id}/join": {"post"},
        "/api/v1/chat/conversations/{conversation_id}/leave": {"post"},
        "/api/v1/chat/conversations/{conversation_id}/mute": {"post"},
        "/api/v1/chat/conversations/{conversation_id}/read": {"post"},
        "/api/v1/chat/conversations/{conversation_id}/messages": {"get", "post"},
        "/api/v1/chat/conversations/{conversation_id}/files": {"post"},
        "/api/v1/chat/messages/{message_id}": {"patch", "delete"},
        "/api/v1/chat/messages/{message_id}/thread": {"get"},
        "/api/v1/chat/messages/{message_id}/reactions": {"post"},
        "/api/v1/chat/messages/{message_id}/file": {"get"},
        "/api/v1/chat/messages/{message_id}/thumbnail": {"get"},
        "/api/v1/chat/search": {"get"},
        "/api/v1/chat/system-messages": {"get", "post"},
        "/api/v1/chat/system-messages/all": {"get"},
        "/api/v1/chat/system-messages/{system_message_id}/expire": {"post"},
        "/api/v1/chat/system-messages/{system_message_id}/dismiss": {"post"},
    }
    for path, methods in expected.items():
        assert set(schema["paths"][path]) == methods, path
        for operation in schema["paths"][path].values():
            assert operation["summary"], (path, operation)
            assert operation["tags"] == ["chat"], path
