"""Activity services: history rows, the thread, notifications, broadcasts, claiming and the overdue job."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone
from notifications.models import Notification

from activities import services
from activities.models import Activity, ActivityComment, ActivityPriority, ActivityStatus, ActivityType, Status, Tag
from nexus.realtime import organization_group, topic_group

pytestmark = pytest.mark.django_db

Kind = ActivityComment.Kind


def _kinds(activity):
    return list(activity.comments.order_by("id").values_list("kind", flat=True))


def _notified(user):
    return list(Notification.objects.filter(recipient=user).values_list("verb", flat=True))


def test_it_creates_an_activity_with_history_and_a_thread(maria, bob, safety_tag, make_activity):
    activity = make_activity(assigned_to=bob, tags=[safety_tag], priority="high")
    assert activity.created_by == maria
    assert list(activity.tags.all()) == [safety_tag]
    assert list(activity.status_history.values_list("status", "changed_by")) == [("planned", maria.pk)]
    assert list(activity.priority_history.values_list("priority", "changed_by")) == [("high", maria.pk)]
    assert _kinds(activity) == [Kind.CREATED, Kind.ASSIGNED]
    assert _notified(bob) == ["assigned you"]


def test_it_refuses_end_before_start_and_saves_nothing(maria, make_activity):
    now = timezone.now()
    with pytest.raises(ValidationError) as error:
        make_activity(start_time=now, end_time=now - timedelta(minutes=1))
    assert "end_time" in error.value.message_dict
    assert Activity.objects.count() == 0


def test_it_refuses_an_assignee_or_tag_of_another_organization(maria, mallory, globex_tag, make_activity):
    with pytest.raises(ValidationError) as error:
        make_activity(assigned_to=mallory)
    assert "assigned_to" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        make_activity(tags=[globex_tag])
    assert "tags" in error.value.message_dict
    assert Activity.objects.count() == 0


def test_it_refuses_an_unknown_type(make_activity):
    with pytest.raises(ValidationError) as error:
        make_activity(type="Juggling")
    assert "type" in error.value.message_dict


@pytest.mark.parametrize("persona", ["bob", "carol"])
def test_it_lets_only_managers_create_activities(request, persona, make_activity):
    with pytest.raises(PermissionDenied):
        make_activity(actor=request.getfixturevalue(persona))


def test_it_lets_the_system_create_an_unassigned_activity(acme):
    now = timezone.now()
    activity = services.create_activity(
        organization=acme,
        actor=None,
        title="Spindle overheating",
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + timedelta(hours=1),
    )
    assert activity.created_by is None and activity.is_claimable
    assert activity.status_history.get().changed_by is None


def test_it_records_status_changes_and_notifies_the_assignee(
    maria, bob, make_activity, broadcasts, django_capture_on_commit_callbacks
):
    activity = make_activity(assigned_to=bob)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_status(actor=maria, activity=activity, status=Status.COMPLETED, notes="Done early")
    history = list(activity.status_history.order_by("id").values_list("status", "notes"))
    assert history == [("planned", "Created"), ("completed", "Done early")]
    entry = activity.comments.get(kind=Kind.STATUS)
    assert entry.data == {"from": "planned", "to": "completed"} and entry.body == "Done early"
    assert "moved to Completed" in _notified(bob)
    # The thread's new entry goes only to pages showing that thread; the organization hears it changed.
    org = organization_group(maria.organization_id)
    assert [g for g, e in broadcasts if e["type"] == "hub.fragment"] == [topic_group("activity", activity.pk)]
    fragments = [e for g, e in broadcasts if e["type"] == "hub.fragment"]
    assert {g for g, e in broadcasts if e["type"] == "hub.json" and e["payload"]["type"] == "activity.changed"} == {org}
    assert f"beforeend:#thread-{activity.pk}" in fragments[0]["html"]
    assert f'id="entry-{entry.pk}"' in fragments[0]["html"]
    changed = [
        e["payload"] for g, e in broadcasts if e["type"] == "hub.json" and e["payload"]["type"] == "activity.changed"
    ]
    assert changed[-1] == {
        "type": "activity.changed",
        "id": activity.pk,
        "deleted": False,
        "header": True,
        "status": "completed",
        "priority": "medium",
        "assigned_to": bob.pk,
    }


def test_it_sends_nothing_before_the_transaction_commits(maria, make_activity, broadcasts):
    activity = make_activity()
    services.change_status(actor=maria, activity=activity, status=Status.IN_PROGRESS)
    assert broadcasts == []


def test_it_lets_the_assignee_but_not_others_change_status(bob, carol, make_activity):
    activity = make_activity(assigned_to=bob)
    services.change_status(actor=bob, activity=activity, status=Status.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        services.change_status(actor=carol, activity=activity, status=Status.COMPLETED)
    activity.refresh_from_db()
    assert activity.status == Status.IN_PROGRESS


def test_it_refuses_an_unknown_status(maria, make_activity):
    activity = make_activity()
    with pytest.raises(ValidationError):
        services.change_status(actor=maria, activity=activity, status="exploded")
    assert activity.status_history.count() == 1


def test_it_records_priority_changes_with_reason(maria, bob, make_activity):
    activity = make_activity(assigned_to=bob)
    services.change_priority(actor=maria, activity=activity, priority="urgent", reason="Line stopped")
    assert list(activity.priority_history.order_by("id").values_list("priority", "reason")) == [
        ("medium", "Created"),
        ("urgent", "Line stopped"),
    ]
    assert "changed the priority to Urgent" in _notified(bob)
    with pytest.raises(PermissionDenied):
        services.change_priority(actor=bob, activity=activity, priority="low")


def test_it_assigns_and_returns_to_the_pool(maria, bob, mallory, make_activity):
    activity = make_activity()
    services.assign_activity(actor=maria, activity=activity, assignee=bob)
    assert Activity.objects.get(pk=activity.pk).assigned_to == bob
    services.assign_activity(actor=maria, activity=activity, assignee=None)
    assert Activity.objects.get(pk=activity.pk).assigned_to is None
    with pytest.raises(ValidationError):
        services.assign_activity(actor=maria, activity=activity, assignee=mallory)
    assert [e.data["to"] for e in activity.comments.filter(kind=Kind.ASSIGNED).order_by("id")] == [bob.pk, None]


def test_it_claims_for_a_technician_and_tells_the_creator(maria, bob, make_activity):
    activity = make_activity()
    claimed = services.claim_activity(activity=activity, user=bob)
    assert (claimed.assigned_to, claimed.status) == (bob, Status.IN_PROGRESS)
    assert activity.status_history.filter(status=Status.IN_PROGRESS, changed_by=bob, notes="Claimed").exists()
    assert _kinds(activity)[-1] == Kind.CLAIMED
    assert _notified(maria) == ["claimed"]


def test_it_tells_a_second_claimer_who_won(acme, bob, make_activity):
    from accounts import services as accounts_services

    tina = accounts_services.create_member(
        organization=acme, username="tina", email="tina@example.com", password="x-Pass-123456", role="technician"
    )
    activity = make_activity()
    services.claim_activity(activity=activity, user=bob)
    with pytest.raises(services.AlreadyClaimed) as error:
        services.claim_activity(activity=activity, user=tina)
    assert error.value.claimed_by == bob
    assert "Bob already claimed" in error.value.messages[0]


def test_it_refuses_claims_by_staff_and_of_other_types(carol, bob, make_activity):
    with pytest.raises(PermissionDenied):
        services.claim_activity(activity=make_activity(), user=carol)
    with pytest.raises(ValidationError):
        services.claim_activity(activity=make_activity(title="Audit", type=ActivityType.QUALITY), user=bob)


def test_it_refuses_a_claim_across_organizations(mallory, make_activity):
    with pytest.raises(PermissionDenied):
        services.claim_activity(activity=make_activity(), user=mallory)


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_twenty_concurrent_claims_win(acme, maria, make_activity):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row locks.")
    from accounts import services as accounts_services

    technicians = [
        accounts_services.create_member(
            organization=acme,
            username=f"tech{i}",
            email=f"tech{i}@example.com",
            password="x-Pass-123456",
            role="technician",
        )
        for i in range(20)
    ]
    activity = make_activity()
    barrier = threading.Barrier(len(technicians))
    results = {}

    def claim(user):
        try:
            barrier.wait(timeout=10)
            services.claim_activity(activity=Activity.objects.get(pk=activity.pk), user=user)
            results[user.username] = "won"
        except services.AlreadyClaimed as error:
            results[user.username] = error.claimed_by.pk
        except Exception as error:  # Any other failure is a test failure, reported below.
            results[user.username] = repr(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=claim, args=(user,)) for user in technicians]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    winners = [name for name, result in results.items() if result == "won"]
    assert len(winners) == 1, results
    winner = next(user for user in technicians if user.username == winners[0])
    assert all(result == winner.pk for name, result in results.items() if name != winners[0]), results
    activity.refresh_from_db()
    assert activity.assigned_to == winner
    assert activity.status_history.filter(notes="Claimed").count() == 1
    assert activity.comments.filter(kind=Kind.CLAIMED).count() == 1
    assert len(results) == 20


def test_it_adds_comments_and_notifies_assignee_and_creator(maria, bob, carol, make_activity):
    activity = make_activity(assigned_to=bob)
    comment = services.add_comment(author=carol, activity=activity, body="  Oil on the floor near cell 3  ")
    assert comment.body == "Oil on the floor near cell 3"
    assert "commented on" in _notified(bob) and "commented on" in _notified(maria)
    with pytest.raises(ValidationError):
        services.add_comment(author=carol, activity=activity, body="   ")


def test_it_refuses_a_comment_from_another_organization(mallory, make_activity):
    with pytest.raises(PermissionDenied):
        services.add_comment(author=mallory, activity=make_activity(), body="hello")


def test_it_edits_fields_and_records_what_changed(maria, bob, safety_tag, make_activity):
    activity = make_activity()
    services.update_activity(
        actor=maria,
        activity=activity,
        note="Scope grew",
        title="Replace both bearings",
        tags=[safety_tag],
        status=Status.IN_PROGRESS,
        priority="high",
        assigned_to=bob,
    )
    activity.refresh_from_db()
    assert (activity.title, activity.status, activity.priority, activity.assigned_to) == (
        "Replace both bearings",
        Status.IN_PROGRESS,
        "high",
        bob,
    )
    assert _kinds(activity)[-4:] == [Kind.EDITED, Kind.STATUS, Kind.PRIORITY, Kind.ASSIGNED]
    assert activity.comments.get(kind=Kind.EDITED).data == {"fields": ["title", "tags"]}
    assert activity.status_history.count() == 2 and activity.priority_history.count() == 2


def test_it_leaves_everything_unchanged_when_an_edit_is_invalid(maria, make_activity):
    activity = make_activity()
    before = activity.end_time
    with pytest.raises(ValidationError):
        services.update_activity(
            actor=maria, activity=activity, title="New", end_time=activity.start_time - timedelta(1)
        )
    activity.refresh_from_db()
    assert (activity.title, activity.end_time) == ("Replace spindle bearing", before)


def test_it_marks_overdue_once_and_notifies_the_assignee(maria, bob, make_activity):
    past = timezone.now() - timedelta(days=1)
    late = make_activity(title="Late", assigned_to=bob, start_time=past - timedelta(hours=2), end_time=past)
    done = make_activity(title="Done", start_time=past - timedelta(hours=2), end_time=past, status=Status.COMPLETED)
    future = make_activity(title="Future")
    assert services.mark_overdue_activities() == 1
    assert services.mark_overdue_activities() == 0
    late.refresh_from_db()
    assert late.status == Status.OVERDUE
    assert late.status_history.filter(status=Status.OVERDUE, changed_by=None).count() == 1
    assert _notified(bob).count("moved to Overdue") == 1
    assert Activity.objects.get(pk=done.pk).status == Status.COMPLETED
    assert Activity.objects.get(pk=future.pk).status == Status.PLANNED
    # Moved back to work without a new deadline: not marked again.
    services.change_status(actor=maria, activity=late, status=Status.IN_PROGRESS)
    assert services.mark_overdue_activities() == 0
    # A new deadline that passes again is marked again.
    services.update_activity(actor=maria, activity=late, end_time=timezone.now() - timedelta(minutes=5))
    assert services.mark_overdue_activities() == 1


def test_it_manages_tags_with_unique_names_per_organization(maria, mallory, carol):
    tag = services.create_tag(actor=maria, organization=maria.organization, name="Kaizen", color="#10b981")
    assert tag.color == "#10B981"
    with pytest.raises(ValidationError) as error:
        services.create_tag(actor=maria, organization=maria.organization, name="kaizen")
    assert "name" in error.value.message_dict
    services.create_tag(actor=mallory, organization=mallory.organization, name="Kaizen")
    with pytest.raises(ValidationError):
        services.create_tag(actor=maria, organization=maria.organization, name="Bad", color="blue")
    with pytest.raises(PermissionDenied):
        services.create_tag(actor=carol, organization=carol.organization, name="Mine")
    services.update_tag(actor=maria, tag=tag, name="Kaizen event")
    services.delete_tag(actor=maria, tag=tag)
    assert list(Tag.objects.values_list("name", flat=True)) == ["Kaizen"]


def test_it_keeps_history_rows_in_the_activity_organization(make_activity, maria):
    activity = make_activity()
    assert set(ActivityStatus.objects.values_list("organization", flat=True)) == {maria.organization_id}
    assert set(ActivityPriority.objects.values_list("organization", flat=True)) == {maria.organization_id}
    assert set(activity.comments.values_list("organization", flat=True)) == {maria.organization_id}


def test_it_tells_pages_a_comment_changed_only_the_thread(
    maria, make_activity, broadcasts, django_capture_on_commit_callbacks
):
    activity = make_activity()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_comment(author=maria, activity=activity, body="Parts ordered")
    (changed,) = [e["payload"] for _, e in broadcasts if e["type"] == "hub.json"]
    assert (changed["id"], changed["header"]) == (activity.pk, False)
