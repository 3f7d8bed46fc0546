"""Editing an update and removing a comment through the JSON API, with the same rules as the pages.

Personas from tests/conftest.py: maria (manager) writes, bob (technician) and carol
(staff) read and comment, alice (admin) moderates, mallory is of another organization.
"""

import pytest

from nexus.permissions import Role
from updates import services
from updates.models import Priority, Update, UpdateComment, UpdateType

pytestmark = pytest.mark.django_db


def _publish(author, title="Forklift training", **fields) -> Update:
    return services.create_update(author=author, draft=services.Draft(title=title, **fields), publish=True)


def _draft(author, title="Shift change", **fields) -> Update:
    return services.create_update(author=author, draft=services.Draft(title=title, **fields))


def _state(update: Update) -> tuple:
    update.refresh_from_db()
    return (
        update.title,
        update.content,
        update.type,
        update.priority,
        update.target_all,
        list(update.target_roles),
        sorted(update.target_users.values_list("pk", flat=True)),
        update.edited_at,
    )


# Editing


def test_it_edits_a_published_update_and_marks_it_edited(api_as, maria, bob):
    update = _publish(maria, content="Hall 1 at 9")

    response = api_as(maria).patch(f"/updates/{update.pk}", {"content": "Hall **2** at 10", "priority": "high"})

    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["content"], body["priority"]) == ("Forklift training", "Hall **2** at 10", "high")
    assert "<strong>2</strong>" in body["html"]
    assert body["edited_at"] is not None
    update.refresh_from_db()
    assert (update.content, update.priority) == ("Hall **2** at 10", Priority.HIGH)
    assert api_as(bob).get(f"/updates/{update.pk}").json()["content"] == "Hall **2** at 10"


def test_it_changes_a_drafts_audience_without_an_edit_mark(api_as, maria, bob, carol):
    update = _draft(maria)

    response = api_as(maria).patch(
        f"/updates/{update.pk}", {"target_roles": [Role.TECHNICIAN], "target_user_ids": [carol.pk]}
    )

    assert response.status_code == 200
    assert response.json()["edited_at"] is None
    update.refresh_from_db()
    assert update.target_all is False
    assert update.target_roles == [Role.TECHNICIAN]
    assert list(update.target_users.all()) == [carol]
    back = api_as(maria).patch(f"/updates/{update.pk}", {"target_all": True})
    assert back.status_code == 200
    update.refresh_from_db()
    assert (update.target_all, update.target_roles, list(update.target_users.all())) == (True, [], [])


def test_it_lets_an_admin_edit_an_update_that_reaches_them(api_as, maria, alice):
    update = _publish(maria)

    response = api_as(alice).patch(f"/updates/{update.pk}", {"type": UpdateType.ALERT})

    assert response.status_code == 200
    assert Update.objects.get(pk=update.pk).type == UpdateType.ALERT


@pytest.mark.parametrize("reader", ["bob", "carol"])
def test_it_refuses_an_edit_by_someone_who_only_reads_it(api_as, maria, reader, request):
    # The audience is fixed at publishing, so the reader must exist by then.
    person = request.getfixturevalue(reader)
    update = _publish(maria)
    before = _state(update)

    response = api_as(person).patch(f"/updates/{update.pk}", {"title": "Mine now"})

    assert response.status_code == 403
    assert response.json()["detail"] == "Only the author or an administrator may edit this update."
    assert _state(update) == before


def test_it_hides_another_organizations_update_from_an_edit(api_as, maria, mallory):
    update = _publish(maria)
    before = _state(update)

    response = api_as(mallory).patch(f"/updates/{update.pk}", {"title": "Hijacked"})

    assert response.status_code == 404
    assert _state(update) == before


def test_it_hides_a_draft_from_everyone_but_its_author(api_as, maria, bob):
    update = _draft(maria)

    assert api_as(bob).patch(f"/updates/{update.pk}", {"title": "Peek"}).status_code == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "Send at least one field to change."),
        ({"title": "   "}, "title: Give the update a title."),
        ({"target_roles": [Role.STAFF]}, "target_roles: A published update keeps the audience"),
        ({"target_all": False}, "target_all: A published update keeps the audience"),
        ({"content": "a\u0000b"}, ""),
        ({"title": "x\u0000"}, ""),
    ],
)
def test_it_refuses_a_bad_edit_and_changes_nothing(api_as, maria, body, reason):
    update = _publish(maria)
    before = _state(update)

    response = api_as(maria).patch(f"/updates/{update.pk}", body)

    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(reason)
    assert response.json()["detail"]
    assert _state(update) == before


def test_it_refuses_a_draft_edit_that_would_leave_it_without_an_audience(api_as, maria, bob, mallory):
    update = _draft(maria)
    before = _state(update)

    nobody = api_as(maria).patch(f"/updates/{update.pk}", {"target_all": False})
    foreign = api_as(maria).patch(f"/updates/{update.pk}", {"target_user_ids": [bob.pk, mallory.pk]})
    both = api_as(maria).patch(f"/updates/{update.pk}", {"target_all": True, "target_roles": [Role.STAFF]})

    assert (nobody.status_code, foreign.status_code, both.status_code) == (400, 400, 400)
    assert nobody.json()["detail"].startswith("target_all: Choose who the update is for")
    assert foreign.json()["detail"] == f"target_user_ids: Unknown person {mallory.pk}."
    assert both.json()["detail"].startswith("target_all: An update to everyone takes no roles or people")
    assert _state(update) == before


@pytest.mark.parametrize(
    "body",
    [
        {"title": 5},
        {"title": None},
        {"target_all": None},
        {"type": "gossip"},
        {"priority": "urgent"},
        {"target_roles": "staff"},
        {"target_user_ids": ["bob"]},
        {"title": "x" * 1000},
    ],
)
def test_it_refuses_a_malformed_edit(api_as, maria, body):
    update = _draft(maria)
    before = _state(update)

    response = api_as(maria).patch(f"/updates/{update.pk}", body)

    assert response.status_code == 422
    assert response.json()["errors"]
    assert _state(update) == before


# Removing comments


def _comment(user, update, content="Which hall?", parent=None) -> UpdateComment:
    return services.add_comment(user=user, update=update, content=content, parent=parent)


def test_it_lets_a_comments_author_remove_it_with_its_replies(api_as, maria, bob, carol):
    update = _publish(maria)
    top = _comment(bob, update)
    _comment(carol, update, "Hall 2", parent=top)
    kept = _comment(carol, update, "Thanks")

    response = api_as(bob).delete(f"/updates/{update.pk}/comments/{top.pk}")

    assert response.status_code == 204
    assert list(UpdateComment.objects.all()) == [kept]
    assert api_as(bob).get(f"/updates/{update.pk}").json()["comment_count"] == 1


@pytest.mark.parametrize("moderator", ["maria", "alice"])
def test_it_lets_the_updates_author_or_an_admin_remove_any_comment(api_as, maria, bob, moderator, request):
    person = request.getfixturevalue(moderator)
    update = _publish(maria)
    comment = _comment(bob, update)

    response = api_as(person).delete(f"/updates/{update.pk}/comments/{comment.pk}")

    assert response.status_code == 204
    assert not UpdateComment.objects.exists()


def test_it_refuses_to_remove_someone_elses_comment(api_as, maria, bob, carol):
    update = _publish(maria)
    comment = _comment(bob, update)

    response = api_as(carol).delete(f"/updates/{update.pk}/comments/{comment.pk}")

    assert response.status_code == 403
    assert response.json()["detail"] == "Only the comment's author or the update's author may remove it."
    assert UpdateComment.objects.filter(pk=comment.pk).exists()


def test_it_hides_comments_of_other_updates_and_organizations(api_as, maria, bob, mallory):
    update = _publish(maria)
    other = _publish(maria, "Other")
    comment = _comment(bob, other)

    misplaced = api_as(bob).delete(f"/updates/{update.pk}/comments/{comment.pk}")
    foreign = api_as(mallory).delete(f"/updates/{other.pk}/comments/{comment.pk}")
    unknown = api_as(bob).delete(f"/updates/{other.pk}/comments/99999999999")

    assert (misplaced.status_code, foreign.status_code, unknown.status_code) == (404, 404, 404)
    assert UpdateComment.objects.filter(pk=comment.pk).exists()


def test_it_asks_anonymous_callers_to_authenticate_before_editing(client, maria):
    update = _publish(maria)
    comment = _comment(maria, update)

    assert client.patch(f"/api/v1/updates/{update.pk}", "{}", content_type="application/json").status_code == 401
    assert client.delete(f"/api/v1/updates/{update.pk}/comments/{comment.pk}").status_code == 401
    assert UpdateComment.objects.filter(pk=comment.pk).exists()
