"""The updates JSON API, over HTTP with the test client.

Personas from tests/conftest.py: maria (manager) writes the updates, bob
(technician) and carol (staff) read them, alice (admin) moderates, and mallory
is of another organization.
"""

from datetime import datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import services as account_services
from nexus.permissions import Role
from tests.accounts.images import png_upload
from tests.api_client import API, token_api
from updates import services
from updates.models import Priority, Update, UpdateComment, UpdateLike, UpdateRecipient, UpdateType

pytestmark = pytest.mark.django_db


def _publish(author, title="Forklift training", **fields) -> Update:
    return services.create_update(author=author, draft=services.Draft(title=title, **fields), publish=True)


def _detail(response) -> str:
    return response.json()["detail"]


def _ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


def _everything() -> tuple:
    """What a refused request must leave as it was."""
    return (
        Update.objects.count(),
        UpdateRecipient.objects.count(),
        UpdateComment.objects.count(),
        UpdateLike.objects.count(),
        sorted(Update.objects.values_list("pk", "is_published", "deleted_at", "reminded_at")),
        sorted(UpdateRecipient.objects.values_list("pk", "acknowledged_at")),
    )


# Writing and publishing


def test_it_creates_and_publishes_an_update(api_as, maria, bob, carol, alice):
    response = api_as(maria).post(
        "/updates",
        {
            "title": "Forklift training",
            "content": "Wear **boots**",
            "type": "maintenance",
            "priority": "high",
            "publish": True,
        },
    )

    assert response.status_code == 201
    body = response.json()
    update = Update.objects.get(pk=body["id"])
    assert (update.created_by, update.is_published, update.target_all) == (maria, True, True)
    assert set(update.recipients.values_list("user__username", flat=True)) == {"bob", "carol", "alice"}
    assert (body["title"], body["type"], body["priority"], body["state"]) == (
        "Forklift training",
        "maintenance",
        "high",
        "published",
    )
    assert body["content"] == "Wear **boots**"
    assert "<strong>boots</strong>" in body["html"]
    assert body["author"] == {"id": maria.pk, "name": "Maria"}
    assert body["published_at"] is not None
    assert (body["like_count"], body["comment_count"], body["liked"]) == (0, 0, False)
    # The author sees her update as its author, not as one of its recipients.
    assert (body["needs_acknowledgement"], body["is_recipient"], body["acknowledged_at"]) == (False, False, None)
    assert (body["attachments"], body["media"], body["comments"]) == ([], [], [])
    assert body["may_manage"] is True
    assert body["audience"] == {"target_all": True, "target_roles": [], "target_users": []}
    assert _ids(api_as(bob).get("/updates")) == [update.pk]


def test_it_keeps_a_draft_and_a_scheduled_update_to_their_author(api_as, maria, bob):
    maria_api = api_as(maria)
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)

    draft = maria_api.post("/updates", {"title": "Still writing"})
    scheduled = maria_api.post("/updates", {"title": "Tomorrow", "publish_at": later.isoformat()})

    assert (draft.status_code, scheduled.status_code) == (201, 201)
    assert (draft.json()["state"], draft.json()["published_at"]) == ("draft", None)
    assert scheduled.json()["state"] == "scheduled"
    assert datetime.fromisoformat(scheduled.json()["published_at"]) == later
    assert not UpdateRecipient.objects.exists()
    assert maria_api.get("/updates").json() == {"items": [], "next_cursor": None}
    assert {item["id"] for item in maria_api.get("/updates/drafts").json()} == {
        draft.json()["id"],
        scheduled.json()["id"],
    }
    bob_api = api_as(bob)
    assert bob_api.get("/updates/drafts").json() == []
    for response in (draft, scheduled):
        assert bob_api.get(f"/updates/{response.json()['id']}").status_code == 404


def test_it_reads_a_time_without_an_offset_in_the_organizations_zone(api_as, maria):
    wall_clock = (timezone.now() + timedelta(days=2)).replace(microsecond=0, tzinfo=None)

    response = api_as(maria).post("/updates", {"title": "Audit", "publish_at": wall_clock.isoformat()})

    assert response.status_code == 201
    published_at = Update.objects.get(pk=response.json()["id"]).published_at
    assert published_at == timezone.make_aware(wall_clock, maria.organization.tzinfo)


def test_it_publishes_a_draft(api_as, maria, bob):
    draft = services.create_update(author=maria, draft=services.Draft(title="Later"))

    assert api_as(bob).post(f"/updates/{draft.pk}/publish").status_code == 404
    response = api_as(maria).post(f"/updates/{draft.pk}/publish")

    assert response.status_code == 200
    assert response.json()["state"] == "published"
    assert _ids(api_as(bob).get("/updates")) == [draft.pk]
    again = api_as(maria).post(f"/updates/{draft.pk}/publish")
    assert (again.status_code, _detail(again)) == (400, "The update is already published.")


def test_it_refuses_to_publish_someone_elses_update(api_as, maria, bob, alice):
    update = _publish(maria)

    response = api_as(bob).post(f"/updates/{update.pk}/publish")

    assert response.status_code == 403
    assert _detail(response) == "Only the author or an administrator may do that to this update."


def test_it_lets_only_managers_and_admins_write(api_as, maria, bob, carol):
    for person in (carol, bob):
        response = api_as(person).post("/updates", {"title": "Hello all", "publish": True})
        assert response.status_code == 403
    # The role is asked first: a staff member learns nothing about the ids they sent.
    assert api_as(carol).post("/updates", {"title": "x", "target_user_ids": [999_999]}).status_code == 403
    assert not Update.objects.exists()


def test_it_writes_and_reads_with_api_tokens(client, maria, bob):
    response = token_api(maria, client, name="script").post("/updates", {"title": "From a script", "publish": True})

    assert response.status_code == 201
    assert _ids(token_api(bob, client, name="script").get("/updates")) == [response.json()["id"]]


def test_it_asks_anonymous_callers_to_authenticate(client, maria):
    update = _publish(maria)

    assert client.get(f"{API}/updates").status_code == 401
    assert client.get(f"{API}/updates/{update.pk}").status_code == 401
    assert client.post(f"{API}/updates", "{}", content_type="application/json").status_code == 401


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"title": "   "}, "title: Give the update a title."),
        ({"title": "Past", "publish_at": "2020-01-01T08:00:00+00:00"}, "publish_at: Choose a time in the future"),
        ({"title": "Nobody", "target_all": False}, "target_all: Choose who the update is for"),
        ({"title": "Both", "target_all": True, "target_roles": ["staff"]}, "target_all: An update to everyone"),
        (
            {"title": "Both", "publish": True, "publish_at": "2999-01-01T08:00:00+00:00"},
            "publish_at: Publish now or schedule it, not both.",
        ),
    ],
)
def test_it_refuses_a_bad_update_and_creates_nothing(api_as, maria, bob, body, reason):
    before = _everything()

    response = api_as(maria).post("/updates", body)

    assert response.status_code == 400
    assert _detail(response).startswith(reason)
    assert _everything() == before


@pytest.mark.parametrize(
    "body",
    [
        {"content": "No title"},
        {"title": "Odd", "type": "gossip"},
        {"title": "Odd", "priority": "urgent"},
        {"title": "Odd", "target_all": False, "target_roles": ["janitor"]},
        {"title": "Odd", "target_user_ids": "everyone"},
        {"title": "Odd", "publish_at": "tomorrow"},
    ],
)
def test_it_refuses_a_malformed_update(api_as, maria, body):
    response = api_as(maria).post("/updates", body)

    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"]
    assert not Update.objects.exists()


def test_it_refuses_target_people_of_another_organization_naming_them(api_as, maria, bob, mallory):
    response = api_as(maria).post(
        "/updates", {"title": "Mixed", "target_all": False, "target_user_ids": [bob.pk, mallory.pk], "publish": True}
    )

    assert response.status_code == 400
    assert _detail(response) == f"target_user_ids: Unknown person {mallory.pk}."
    assert not Update.objects.exists()
    several = api_as(maria).post("/updates", {"title": "Mixed", "target_user_ids": [mallory.pk, 999_999]})
    assert _detail(several) == f"target_user_ids: Unknown people {mallory.pk}, 999999."
    assert not Update.objects.exists()


def test_it_refuses_a_deactivated_target(api_as, alice, maria, bob):
    account_services.set_member_active(actor=alice, member=bob, is_active=False)

    response = api_as(maria).post("/updates", {"title": "To bob", "target_user_ids": [bob.pk]})

    assert response.status_code == 400
    assert _detail(response) == "target_user_ids: Choose active people of your organization."
    assert not Update.objects.exists()


# Who sees what


def test_it_shows_an_update_only_to_its_targets(api_as, maria, bob, carol, alice, acme):
    sam = account_services.create_member(
        organization=acme, username="sam", email="sam@example.com", password="x-pass-9876!", role=Role.STAFF
    )
    response = api_as(maria).post(
        "/updates",
        {
            "title": "Line 3 stops",
            "priority": "critical",
            "target_roles": ["technician"],
            "target_user_ids": [carol.pk],
            "publish": True,
        },
    )
    assert response.status_code == 201
    update_id = response.json()["id"]
    assert response.json()["audience"] == {
        "target_all": False,
        "target_roles": ["technician"],
        "target_users": [{"id": carol.pk, "name": "Carol"}],
    }

    for target in (bob, carol):
        target_api = api_as(target)
        assert _ids(target_api.get("/updates")) == [update_id]
        detail = target_api.get(f"/updates/{update_id}")
        assert detail.status_code == 200
        assert (detail.json()["is_recipient"], detail.json()["may_manage"]) == (True, False)
        assert (detail.json()["audience"], detail.json()["acknowledgements"]) == (None, None)
        assert target_api.post(f"/updates/{update_id}/comments", {"content": "Seen"}).status_code == 201
        assert target_api.post(f"/updates/{update_id}/like").status_code == 200
        assert target_api.post(f"/updates/{update_id}/acknowledge").status_code == 200

    before = _everything()
    # An admin who was not targeted, and a staff member who was not chosen, do not see it at all.
    for outsider in (alice, sam):
        outsider_api = api_as(outsider)
        assert outsider_api.get("/updates").json() == {"items": [], "next_cursor": None}
        assert outsider_api.get(f"/updates/{update_id}").status_code == 404
        assert outsider_api.post(f"/updates/{update_id}/comments", {"content": "Hi"}).status_code == 404
        assert outsider_api.post(f"/updates/{update_id}/like").status_code == 404
        assert outsider_api.delete(f"/updates/{update_id}/like").status_code == 404
        response = outsider_api.post(f"/updates/{update_id}/acknowledge")
        assert (response.status_code, _detail(response)) == (404, "Not found.")
    assert _everything() == before


def test_it_hides_everything_from_another_organization(api_as, maria, bob, mallory):
    update = services.create_update(
        author=maria,
        draft=services.Draft(title="Acme only", priority=Priority.CRITICAL),
        media=[(png_upload(), "Hall 2")],
        publish=True,
    )
    draft = services.create_update(author=maria, draft=services.Draft(title="Acme draft"))
    comment = services.add_comment(user=bob, update=update, content="Ok")
    media = update.media.get()
    mallory_api = api_as(mallory)
    before = _everything()

    assert mallory_api.get("/updates").json() == {"items": [], "next_cursor": None}
    assert mallory_api.get("/updates/drafts").json() == []
    for pk in (update.pk, draft.pk):
        assert mallory_api.get(f"/updates/{pk}").status_code == 404
        for action in ("publish", "like", "acknowledge", "remind"):
            assert mallory_api.post(f"/updates/{pk}/{action}").status_code == 404
        assert mallory_api.post(f"/updates/{pk}/comments", {"content": "Hi", "parent_id": comment.pk}).status_code == (
            404
        )
        assert mallory_api.delete(f"/updates/{pk}/like").status_code == 404
        assert mallory_api.delete(f"/updates/{pk}").status_code == 404
    assert mallory_api.get(f"/updates/{update.pk}/media/{media.pk}").status_code == 404
    assert mallory_api.get(f"/updates/{update.pk}/media/{media.pk}/thumbnail").status_code == 404
    assert _everything() == before


# The feed


def test_it_filters_the_feed_by_type_and_priority(api_as, maria, bob):
    alert = _publish(maria, "Fire drill", type=UpdateType.ALERT, priority=Priority.HIGH)
    news = _publish(maria, "Canteen", type=UpdateType.NEWS, priority=Priority.LOW)
    high_news = _publish(maria, "New hall", type=UpdateType.NEWS, priority=Priority.HIGH)
    bob_api = api_as(bob)

    assert _ids(bob_api.get("/updates")) == [high_news.pk, news.pk, alert.pk]
    assert _ids(bob_api.get("/updates", {"type": "news"})) == [high_news.pk, news.pk]
    assert _ids(bob_api.get("/updates", {"priority": "high"})) == [high_news.pk, alert.pk]
    assert _ids(bob_api.get("/updates", {"type": "news", "priority": "high"})) == [high_news.pk]
    assert _ids(bob_api.get("/updates", {"type": "maintenance"})) == []
    for bad in ({"type": "gossip"}, {"priority": "urgent"}, {"limit": 0}, {"limit": 101}):
        assert bob_api.get("/updates", bad).status_code == 422


def test_it_pages_the_feed_without_gaps_or_repeats(api_as, maria, bob):
    start = timezone.now()
    made = []
    # Some updates share their publishing time to the microsecond: the cursor breaks ties by id.
    for number in range(7):
        with time_machine.travel(start + timedelta(seconds=number // 3), tick=False):
            made.append(_publish(maria, f"Update {number}"))
    bob_api = api_as(bob)

    seen, cursor, pages = [], "", 0
    while True:
        body = bob_api.get("/updates", {"limit": 3, "cursor": cursor}).json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = body["next_cursor"]

    assert seen == [update.pk for update in reversed(made)]
    assert pages == 3
    filtered = bob_api.get("/updates", {"limit": 2, "type": "announcement"}).json()
    assert len(filtered["items"]) == 2 and filtered["next_cursor"] is not None


def test_it_refuses_an_unknown_cursor(api_as, maria, bob):
    _publish(maria)

    response = api_as(bob).get("/updates", {"cursor": "garbage"})

    assert response.status_code == 400
    assert _detail(response) == "cursor: Unknown cursor: pass the next_cursor of the previous page."


def test_it_lists_the_feed_in_constant_queries(api_as, maria, bob, carol, django_assert_max_num_queries):
    bob_api = api_as(bob)

    def make(count):
        for number in range(count):
            update = services.create_update(
                author=maria,
                draft=services.Draft(title=f"Update {number}", priority=Priority.CRITICAL),
                files=[SimpleUploadedFile("notes.txt", b"Bring gloves.\n", content_type="text/plain")],
                media=[(png_upload(), "")],
                publish=True,
            )
            services.set_like(user=carol, update=update, liked=True)
            services.add_comment(user=carol, update=update, content="Ok")
            services.acknowledge(user=carol, update=update)

    make(5)
    # The session, the user, the page, and the page's attachments and media.
    with django_assert_max_num_queries(5) as few:
        assert len(bob_api.get("/updates", {"limit": 50}).json()["items"]) == 5
    make(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        items = bob_api.get("/updates", {"limit": 50}).json()["items"]
    assert len(items) == 25
    assert (items[0]["like_count"], items[0]["comment_count"], items[0]["liked"]) == (1, 1, False)
    assert (len(items[0]["attachments"]), len(items[0]["media"])) == (1, 1)


def test_it_lists_the_callers_drafts_next_scheduled_first(api_as, maria, alice):
    now = timezone.now()
    later = services.create_update(
        author=maria, draft=services.Draft(title="In two days"), publish_at=now + timedelta(days=2)
    )
    sooner = services.create_update(
        author=maria, draft=services.Draft(title="Tomorrow"), publish_at=now + timedelta(days=1)
    )
    services.create_update(author=alice, draft=services.Draft(title="Alice's"))
    _publish(maria, "Out already")

    drafts = api_as(maria).get("/updates/drafts").json()

    assert [item["title"] for item in drafts if item["state"] == "scheduled"] == ["Tomorrow", "In two days"]
    assert {item["id"] for item in drafts} == {later.pk, sooner.pk}


# Acknowledgements


def test_it_counts_acknowledgements_for_the_author(api_as, maria, bob, carol, alice):
    update = _publish(maria, "Gas leak drill", priority=Priority.CRITICAL)
    maria_api = api_as(maria)
    first = maria_api.get(f"/updates/{update.pk}").json()
    assert first["needs_acknowledgement"] is True
    assert (first["acknowledgements"]["acknowledged"], first["acknowledgements"]["total"]) == (0, 3)

    response = api_as(bob).post(f"/updates/{update.pk}/acknowledge")

    assert response.status_code == 200
    acknowledged_at = response.json()["acknowledged_at"]
    assert acknowledged_at is not None
    # Twice keeps the first time.
    assert api_as(bob).post(f"/updates/{update.pk}/acknowledge").json()["acknowledged_at"] == acknowledged_at
    assert api_as(bob).get(f"/updates/{update.pk}").json()["acknowledged_at"] == acknowledged_at
    acknowledgements = maria_api.get(f"/updates/{update.pk}").json()["acknowledgements"]
    assert (acknowledgements["acknowledged"], acknowledgements["total"]) == (1, 3)
    assert acknowledgements["acknowledged_people"] == [
        {"person": {"id": bob.pk, "name": "Bob"}, "acknowledged_at": acknowledged_at}
    ]
    assert [person["name"] for person in acknowledgements["pending_people"]] == ["Alice", "Carol"]
    # Admins see them too.
    assert api_as(alice).get(f"/updates/{update.pk}").json()["acknowledgements"]["acknowledged"] == 1


def test_it_refuses_to_acknowledge_an_ordinary_update(api_as, maria, bob):
    update = _publish(maria)

    response = api_as(bob).post(f"/updates/{update.pk}/acknowledge")

    assert response.status_code == 400
    assert _detail(response) == "This update does not ask for acknowledgement."
    assert not UpdateRecipient.objects.filter(acknowledged_at__isnull=False).exists()


def test_it_reminds_those_who_have_not_acknowledged(api_as, maria, bob, carol, alice):
    update = _publish(maria, "Gas leak drill", priority=Priority.CRITICAL)
    services.acknowledge(user=bob, update=update)

    assert api_as(bob).post(f"/updates/{update.pk}/remind").status_code == 403
    response = api_as(maria).post(f"/updates/{update.pk}/remind")

    assert response.status_code == 200
    assert response.json() == {"reminded": 2}  # carol and alice; bob acknowledged.
    again = api_as(maria).post(f"/updates/{update.pk}/remind")
    assert again.status_code == 400
    assert _detail(again) == "A reminder went out less than 10 minutes ago."
    with time_machine.travel(timezone.now() + services.REMIND_EVERY + timedelta(seconds=1)):
        # An admin may remind too: carol is reminded again, and alice, who reminds, is not.
        assert api_as(alice).post(f"/updates/{update.pk}/remind").json() == {"reminded": 1}


def test_it_refuses_to_remind_about_an_ordinary_update(api_as, maria, bob):
    update = _publish(maria)

    response = api_as(maria).post(f"/updates/{update.pk}/remind")

    assert response.status_code == 400
    assert _detail(response) == "Only critical updates ask for acknowledgement."
    update.refresh_from_db()
    assert update.reminded_at is None


# Comments and likes


def test_it_threads_comments_one_level(api_as, maria, bob, carol):
    update = _publish(maria)

    top = api_as(bob).post(f"/updates/{update.pk}/comments", {"content": "Which *hall*?"})
    reply = api_as(carol).post(f"/updates/{update.pk}/comments", {"content": "Hall 2", "parent_id": top.json()["id"]})
    deeper = api_as(maria).post(
        f"/updates/{update.pk}/comments", {"content": "Yes, 2", "parent_id": reply.json()["id"]}
    )

    assert (top.status_code, reply.status_code, deeper.status_code) == (201, 201, 201)
    assert top.json()["author"] == {"id": bob.pk, "name": "Bob"}
    assert "<em>hall</em>" in top.json()["html"]
    assert (top.json()["parent"], top.json()["replies"]) == (None, [])
    assert reply.json()["parent"] == top.json()["id"]
    assert deeper.json()["parent"] == top.json()["id"]
    detail = api_as(bob).get(f"/updates/{update.pk}").json()
    assert detail["comment_count"] == 3
    assert [comment["id"] for comment in detail["comments"]] == [top.json()["id"]]
    assert [(r["id"], r["content"]) for r in detail["comments"][0]["replies"]] == [
        (reply.json()["id"], "Hall 2"),
        (deeper.json()["id"], "Yes, 2"),
    ]


def test_it_refuses_a_bad_comment(api_as, maria, bob):
    update = _publish(maria)
    other = _publish(maria, "Other")
    foreign = services.add_comment(user=bob, update=other, content="Elsewhere")
    draft = services.create_update(author=maria, draft=services.Draft(title="Draft"))
    before = _everything()

    empty = api_as(bob).post(f"/updates/{update.pk}/comments", {"content": "   "})
    misplaced = api_as(bob).post(f"/updates/{update.pk}/comments", {"content": "Hi", "parent_id": foreign.pk})
    unpublished = api_as(maria).post(f"/updates/{draft.pk}/comments", {"content": "Note to self"})
    shapeless = api_as(bob).post(f"/updates/{update.pk}/comments", {"text": "Hi"})

    assert (empty.status_code, _detail(empty)) == (400, "content: Write something first.")
    assert (misplaced.status_code, _detail(misplaced)) == (
        400,
        f"parent_id: Unknown comment {foreign.pk} on this update.",
    )
    assert (unpublished.status_code, _detail(unpublished)) == (400, "The update is not published.")
    assert shapeless.status_code == 422
    assert _everything() == before


def test_it_likes_and_unlikes_idempotently(api_as, maria, bob, carol):
    update = _publish(maria)
    bob_api = api_as(bob)

    assert bob_api.post(f"/updates/{update.pk}/like").json() == {"liked": True, "like_count": 1}
    assert bob_api.post(f"/updates/{update.pk}/like").json() == {"liked": True, "like_count": 1}
    assert api_as(carol).post(f"/updates/{update.pk}/like").json() == {"liked": True, "like_count": 2}
    assert bob_api.get(f"/updates/{update.pk}").json()["liked"] is True
    assert api_as(maria).get(f"/updates/{update.pk}").json()["liked"] is False

    assert bob_api.delete(f"/updates/{update.pk}/like").json() == {"liked": False, "like_count": 1}
    assert bob_api.delete(f"/updates/{update.pk}/like").json() == {"liked": False, "like_count": 1}
    assert list(UpdateLike.objects.values_list("user", flat=True)) == [carol.pk]
    item = bob_api.get("/updates").json()["items"][0]
    assert (item["like_count"], item["liked"]) == (1, False)


def test_it_refuses_to_like_a_draft(api_as, maria):
    draft = services.create_update(author=maria, draft=services.Draft(title="Draft"))

    response = api_as(maria).post(f"/updates/{draft.pk}/like")

    assert (response.status_code, _detail(response)) == (400, "The update is not published.")
    assert not UpdateLike.objects.exists()


# Deleting


def test_it_hides_an_update_its_author_deletes(api_as, maria, bob):
    update = _publish(maria)

    assert api_as(bob).delete(f"/updates/{update.pk}").status_code == 403
    response = api_as(maria).delete(f"/updates/{update.pk}")

    assert response.status_code == 204
    update.refresh_from_db()
    assert update.deleted_at is not None
    assert api_as(bob).get(f"/updates/{update.pk}").status_code == 404
    assert api_as(bob).get("/updates").json()["items"] == []
    assert api_as(maria).delete(f"/updates/{update.pk}").status_code == 404


def test_it_deletes_for_good_with_its_files_when_an_admin_does(
    api_as, maria, alice, django_capture_on_commit_callbacks
):
    update = services.create_update(
        author=maria, draft=services.Draft(title="Photos"), media=[(png_upload(), "")], publish=True
    )
    stored = update.media.get().media_file
    assert stored.storage.exists(stored.name)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(alice).delete(f"/updates/{update.pk}")

    assert response.status_code == 204
    assert not Update.objects.filter(pk=update.pk).exists()
    assert not stored.storage.exists(stored.name)


# Files


def test_it_lists_and_serves_files_to_those_who_see_the_update(api_as, maria, bob, alice):
    notes = SimpleUploadedFile("notes.txt", b"Bring gloves.\n", content_type="text/plain")
    update = services.create_update(
        author=maria,
        draft=services.Draft(title="Hall 2", target_all=False, target_users=[bob]),
        files=[notes],
        media=[(png_upload(size=(1600, 900)), "The new line")],
        publish=True,
    )
    attachment, media = update.attachments.get(), update.media.get()

    body = api_as(bob).get(f"/updates/{update.pk}").json()

    assert body["attachments"] == [
        {
            "id": attachment.pk,
            "filename": "notes.txt",
            "size": len(b"Bring gloves.\n"),
            "mime_type": "text/plain",
            "url": f"{API}/updates/{update.pk}/attachments/{attachment.pk}",
        }
    ]
    assert body["media"] == [
        {
            "id": media.pk,
            "media_type": "image",
            "filename": media.filename,
            "size": media.file_size,
            "mime_type": "image/png",
            "caption": "The new line",
            "url": f"{API}/updates/{update.pk}/media/{media.pk}",
            "thumbnail_url": f"{API}/updates/{update.pk}/media/{media.pk}/thumbnail",
        }
    ]
    bob_client = api_as(bob).client
    download = bob_client.get(body["attachments"][0]["url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"Bring gloves.\n"
    assert download["Content-Disposition"].startswith("attachment")
    assert bob_client.get(body["media"][0]["url"])["Content-Type"] == "image/png"
    assert bob_client.get(body["media"][0]["thumbnail_url"])["Content-Type"] == "image/jpeg"
    # alice is not in the audience; a file of another update is not found under this one.
    assert api_as(alice).client.get(body["attachments"][0]["url"]).status_code == 404
    other = _publish(maria, "Other", target_all=False, target_users=[bob])
    assert bob_client.get(f"{API}/updates/{other.pk}/attachments/{attachment.pk}").status_code == 404


def test_it_lists_the_updates_endpoints_in_the_openapi_schema(client):
    schema = client.get(f"{API}/openapi.json").json()
    expected = {
        "/api/v1/updates": {"get", "post"},
        "/api/v1/updates/drafts": {"get"},
        "/api/v1/updates/{update_id}": {"get", "patch", "delete"},
        "/api/v1/updates/{update_id}/publish": {"post"},
        "/api/v1/updates/{update_id}/comments": {"post"},
        "/api/v1/updates/{update_id}/comments/{comment_id}": {"delete"},
        "/api/v1/updates/{update_id}/like": {"post", "delete"},
        "/api/v1/updates/{update_id}/acknowledge": {"post"},
        "/api/v1/updates/{update_id}/remind": {"post"},
        "/api/v1/updates/{update_id}/attachments/{attachment_id}": {"get"},
        "/api/v1/updates/{update_id}/media/{media_id}": {"get"},
        "/api/v1/updates/{update_id}/media/{media_id}/thumbnail": {"get"},
    }
    for path, methods in expected.items():
        assert set(schema["paths"][path]) == methods, path


def test_it_refuses_null_characters_and_impossible_ids_without_a_crash(api_as, maria, bob):
    before = _everything()
    for body in (
        {"title": "a\u0000b"},
        {"title": "ok", "content": "a\u0000b"},
        {"title": "ok", "target_user_ids": [99999999999999999999999]},
    ):
        response = api_as(maria).post("/updates", body)
        assert 400 <= response.status_code < 500, body
    assert _everything() == before
    update = _publish(maria)
    assert api_as(bob).post(f"/updates/{update.pk}/comments", {"content": "x\u0000"}).status_code == 400
    assert not update.comments.exists()


def test_notifications_of_updates_link_to_them(api_as, maria, bob):
    update = _publish(maria)
    [notification] = api_as(bob).get("/notifications").json()["items"]
    assert notification["url"] == f"/updates/{update.pk}/"
