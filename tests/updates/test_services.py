"""Update services and selectors: targeting, publishing (now and scheduled), acknowledgements, files, reactions."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from notifications.models import Notification

from accounts import services as accounts_services
from nexus.permissions import Role
from tests.accounts.images import huge_png, png_upload, upload
from updates import selectors, services
from updates.models import Priority, Update, UpdateRecipient, UpdateType

pytestmark = pytest.mark.django_db


def _draft(title="Forklift training", **fields) -> services.Draft:
    return services.Draft(title=title, **fields)


def _notified(user) -> list[str]:
    return list(Notification.objects.filter(recipient=user).values_list("description", flat=True))


@pytest.fixture
def sam(acme):
    return accounts_services.create_member(
        organization=acme, username="sam", email="sam@acme.example", password="s3cret-pass!", role=Role.STAFF
    )


def test_it_publishes_to_everyone_notifies_them_and_tells_their_sockets(
    maria, bob, carol, alice, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        update = services.create_update(
            author=maria, draft=_draft(content="Wear **boots**", priority=Priority.HIGH), publish=True
        )
    assert update.is_published and update.published_at is not None
    assert "<strong>boots</strong>" in update.content_html
    # The author is not a recipient of her own update; she sees it as its author.
    assert set(update.recipients.values_list("user__username", flat=True)) == {"bob", "carol", "alice"}
    assert _notified(bob) == ["Maria: Forklift training."] and _notified(maria) == []
    frames = [(group, json.loads(event["text"])) for group, event in broadcasts if event["type"] == "hub.text"]
    assert (f"org.{maria.organization_id}", {"type": "updates.published", "id": update.pk, "priority": "high"}) in (
        frames
    )


def test_it_shows_an_update_only_to_its_targets_and_its_author(maria, bob, carol, alice, mallory, sam):
    update = services.create_update(
        author=maria,
        draft=_draft(target_all=False, target_roles=[Role.TECHNICIAN], target_users=[carol]),
        publish=True,
    )
    for person in (maria, bob, carol):
        assert selectors.get_update_for_user_or_404(user=person, pk=update.pk) == update
    for outsider in (alice, sam, mallory):  # An admin who is not targeted, staff, another organization.
        with pytest.raises(Http404):
            selectors.get_update_for_user_or_404(user=outsider, pk=update.pk)
        assert selectors.feed(user=outsider).items == []
    assert selectors.feed(user=bob).items == [update]


def test_it_keeps_drafts_to_their_author(maria, bob, alice):
    draft = services.create_update(author=maria, draft=_draft())
    assert draft.state == "draft" and not draft.recipients.exists()
    assert selectors.drafts_of(user=maria) == [draft]
    assert selectors.feed(user=maria).items == []
    for other in (bob, alice):
        with pytest.raises(Http404):
            selectors.get_update_for_user_or_404(user=other, pk=draft.pk)


def test_it_refuses_bad_drafts_and_saves_nothing(maria, carol, mallory):
    with pytest.raises(PermissionDenied):
        services.create_update(author=carol, draft=_draft(), publish=True)
    bad = [
        _draft(title="  "),
        _draft(title="x" * 201),
        _draft(type="gossip"),
        _draft(priority="apocalyptic"),
        _draft(target_all=False),
        _draft(target_all=False, target_roles=["owner"]),
        _draft(target_all=False, target_users=[mallory]),
    ]
    for draft in bad:
        with pytest.raises(ValidationError):
            services.create_update(author=maria, draft=draft, publish=True)
    with pytest.raises(ValidationError):
        services.create_update(author=maria, draft=_draft(), publish_at=timezone.now() - timedelta(minutes=1))
    assert not Update.objects.exists()


def test_a_scheduled_update_is_published_once_on_time(maria, bob):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        update = services.create_update(author=maria, draft=_draft(), publish_at=start + timedelta(hours=1))
        assert update.state == "scheduled" and services.publish_due_updates() == 0
    with time_machine.travel(start + timedelta(minutes=59), tick=False):
        assert services.publish_due_updates() == 0
        assert selectors.feed(user=bob).items == []
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        assert services.publish_due_updates() == 1
        assert services.publish_due_updates() == 0  # Once, however often the job runs.
    update.refresh_from_db()
    assert update.is_published and update.published_at == start + timedelta(hours=1, seconds=1)
    assert selectors.feed(user=bob).items == [update]
    assert len(_notified(bob)) == 1


def test_it_counts_acknowledgements_and_reminds_only_those_who_have_not(
    maria, bob, carol, alice, broadcasts, django_capture_on_commit_callbacks
):
    update = services.create_update(author=maria, draft=_draft(priority=Priority.CRITICAL), publish=True)
    assert services.acknowledgement_counts(update) == (0, 3)
    with django_capture_on_commit_callbacks(execute=True):
        services.acknowledge(user=bob, update=update)
        services.acknowledge(user=bob, update=update)  # Twice changes nothing.
    assert services.acknowledgement_counts(update) == (1, 3)
    # One fragment with the count and both lists, once, to the pages following the update; its managers'
    # sockets (maria the author, alice an admin it reached) hear only that it changed.
    fragments = [(group, event["html"]) for group, event in broadcasts if event["type"] == "hub.fragment"]
    assert [group for group, _html in fragments] == [f"topic.update.{update.pk}"]
    html = fragments[0][1]
    assert f'id="update-{update.pk}-ack-state"' in html and 'hx-swap-oob="true"' in html
    assert "1 of 3 acknowledged" in html and "Bob" in html.split("Not yet")[0] and "Carol" in html.split("Not yet")[1]
    told = {group for group, event in broadcasts if '"updates.acknowledged"' in event.get("text", "")}
    assert told == {f"user.{maria.pk}", f"user.{alice.pk}"}
    done, pending = selectors.acknowledgements(update)
    assert [r.user for r in done] == [bob] and {r.user.username for r in pending} == {"alice", "carol"}

    reminded = services.remind(actor=maria, update=update)
    assert reminded == 2  # carol and alice; bob acknowledged.
    assert any("reminds you" in text for text in _notified(carol)) and not any(
        "reminds you" in text for text in _notified(bob)
    )
    with pytest.raises(ValidationError, match="less than"):
        services.remind(actor=maria, update=update)
    with pytest.raises(PermissionDenied):
        services.remind(actor=bob, update=update)


def test_only_critical_updates_and_their_recipients_acknowledge(maria, bob, mallory):
    ordinary = services.create_update(author=maria, draft=_draft(), publish=True)
    with pytest.raises(ValidationError):
        services.acknowledge(user=bob, update=ordinary)
    critical = services.create_update(
        author=maria, draft=_draft(priority=Priority.CRITICAL, target_all=False, target_users=[bob]), publish=True
    )
    with pytest.raises(PermissionDenied):
        services.acknowledge(user=mallory, update=critical)
    assert UpdateRecipient.objects.filter(update=critical).count() == 1


def test_it_stores_checked_files_and_thumbnails_and_refuses_bad_ones(maria, settings):
    pdf = upload(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", name="rules.pdf", content_type="application/pdf")
    update = services.create_update(
        author=maria, draft=_draft(), files=[pdf], media=[(png_upload(size=(1600, 900)), "The new line")]
    )
    attachment, media = update.attachments.get(), update.media.get()
    assert (attachment.filename, attachment.mime_type) == ("rules.pdf", "application/pdf")
    assert attachment.file.name.startswith(f"updates/{maria.organization_id}/")
    assert media.media_type == "image" and media.caption == "The new line" and media.thumbnail
    assert max(media.thumbnail.width, media.thumbnail.height) <= services.THUMBNAIL_SIZE

    fake_pdf = upload(b"just text pretending", name="report.pdf", content_type="application/pdf")
    with pytest.raises(ValidationError, match="not accepted"):
        services.create_update(author=maria, draft=_draft("Fake"), files=[fake_pdf])
    with pytest.raises(ValidationError, match="pixels"):
        services.create_update(author=maria, draft=_draft("Bomb"), media=[(upload(huge_png(30000, 30000)), "")])
    settings.UPDATES_MAX_FILE_BYTES = 100
    with pytest.raises(ValidationError, match="too large"):
        services.create_update(author=maria, draft=_draft("Big"), files=[png_upload()])
    assert Update.objects.count() == 1


def test_editing_a_published_update_marks_it_and_keeps_its_audience(maria, bob, carol, alice):
    update = services.create_update(author=maria, draft=_draft(target_all=False, target_users=[bob]), publish=True)
    services.edit_update(actor=maria, update=update, draft=_draft("Forklift training moved", target_all=True))
    update.refresh_from_db()
    assert update.title == "Forklift training moved" and update.edited_at is not None
    assert not update.target_all and list(update.recipients.values_list("user", flat=True)) == [bob.pk]
    with pytest.raises(PermissionDenied):
        services.edit_update(actor=carol, update=update, draft=_draft())


def test_deleting_is_soft_for_the_author_and_hard_for_admins(maria, bob, alice):
    soft = services.create_update(author=maria, draft=_draft("Soft"), publish=True)
    assert services.delete_update(actor=maria, update=soft) is False
    assert Update.objects.filter(pk=soft.pk, deleted_at__isnull=False).exists()
    with pytest.raises(Http404):
        selectors.get_update_for_user_or_404(user=bob, pk=soft.pk)
    hard = services.create_update(author=maria, draft=_draft("Hard"), publish=True)
    with pytest.raises(PermissionDenied):
        services.delete_update(actor=bob, update=hard)
    assert services.delete_update(actor=alice, update=hard) is True
    assert not Update.objects.filter(pk=hard.pk).exists()


def test_comments_thread_one_level_and_likes_count_once(maria, bob, carol, mallory):
    update = services.create_update(author=maria, draft=_draft(), publish=True)
    top = services.add_comment(user=bob, update=update, content="Which *hall*?")
    reply = services.add_comment(user=carol, update=update, content="Hall 2", parent=top)
    deeper = services.add_comment(user=maria, update=update, content="Yes, 2", parent=reply)
    assert reply.parent == top and deeper.parent == top and "<em>hall</em>" in top.content_html
    assert [c.pk for c in selectors.comments_of(update)] == [top.pk]
    assert any("commented" in text for text in _notified(maria))
    with pytest.raises(ValidationError):
        services.add_comment(user=bob, update=update, content="   ")
    with pytest.raises(PermissionDenied):
        services.add_comment(user=mallory, update=update, content="hi")
    assert services.set_like(user=bob, update=update, liked=True) == 1
    assert services.set_like(user=bob, update=update, liked=True) == 1
    assert services.set_like(user=carol, update=update, liked=True) == 2
    assert services.set_like(user=bob, update=update, liked=False) == 1
    draft = services.create_update(author=maria, draft=_draft("Draft"))
    with pytest.raises(ValidationError):
        services.set_like(user=maria, update=draft, liked=True)


def test_other_apps_post_updates_as_the_system(acme, bob, carol):
    update = services.post_update(
        organization=acme, title="Shift report: night", type=UpdateType.SHIFT_REPORT, target_roles=[Role.TECHNICIAN]
    )
    assert update.created_by is None and update.is_published
    assert list(update.recipients.values_list("user", flat=True)) == [bob.pk]
    assert _notified(bob) == ["Nexus: Shift report: night."] and _notified(carol) == []


def test_the_feed_pages_without_gaps_or_repeats_and_filters(maria, bob):
    made = [
        services.create_update(
            author=maria,
            draft=_draft(f"U{n}", priority=Priority.LOW if n % 2 else Priority.HIGH),
            publish=True,
        )
        for n in range(7)
    ]
    seen, cursor = [], None
    while True:
        page = selectors.feed(user=bob, cursor=cursor, limit=3)
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(made))
    low = selectors.feed(user=bob, filters=selectors.FeedFilters(priority=Priority.LOW)).items
    assert {u.priority for u in low} == {"low"} and len(low) == 3
    with pytest.raises(Http404):
        selectors.feed(user=bob, cursor="garbage")


def test_the_feed_costs_the_same_queries_for_many_updates(maria, bob, carol, django_assert_max_num_queries):
    def make(count):
        for n in range(count):
            update = services.create_update(
                author=maria,
                draft=_draft(f"Q{n}", priority=Priority.CRITICAL),
                media=[(png_upload(), "")],
                publish=True,
            )
            services.set_like(user=carol, update=update, liked=True)
            services.add_comment(user=carol, update=update, content="ok")

    make(2)
    with django_assert_max_num_queries(4) as few:
        assert len(selectors.feed(user=bob).items) == 2
    make(10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = selectors.feed(user=bob).items
    assert len(page) == 12 and page[0].like_count == 1 and page[0].comment_count == 1
    assert page[0].recipient_count == 2 and page[0].acknowledged_count == 0


def test_the_periodic_job_publishes_due_updates_every_half_minute(maria, bob, settings):
    from nexus.celery import app
    from updates import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["publish-due-updates"]
    assert entry["task"] == "updates.tasks.publish_due_updates" and entry["schedule"] == 30.0
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        services.create_update(author=maria, draft=_draft(), publish_at=start + timedelta(seconds=20))
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert tasks.publish_due_updates.apply().get() == 1
        assert tasks.publish_due_updates() == 0


def test_a_scheduled_update_of_someone_who_may_no_longer_broadcast_goes_back_to_draft(maria, bob, alice):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        update = services.create_update(author=maria, draft=_draft(), publish_at=start + timedelta(minutes=5))
    accounts_services.change_role(actor=alice, member=maria, role=Role.STAFF)
    maria.refresh_from_db()
    with time_machine.travel(start + timedelta(minutes=6), tick=False):
        assert services.publish_due_updates() == 0
    update.refresh_from_db()
    assert update.state == "draft" and not update.recipients.exists() and _notified(bob) == []


def test_a_published_update_stays_editable_after_someone_it_chose_has_left(maria, bob, carol, alice):
    update = services.create_update(
        author=maria, draft=_draft(target_all=False, target_users=[bob, carol]), publish=True
    )
    type(bob).objects.filter(pk=bob.pk).update(is_active=False)  # Bob has left.
    services.edit_update(actor=maria, update=update, draft=_draft("Forklift training moved"))
    update.refresh_from_db()
    assert update.title == "Forklift training moved" and set(update.target_users.all()) == {bob, carol}


def test_stored_names_are_random_and_pictures_lose_their_metadata(maria):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buffer, format="JPEG", exif=exif)
    photo = upload(buffer.getvalue(), name="文" * 150 + ".jpeg", content_type="image/jpeg")
    pdf = upload(b"%PDF-1.4\n%%EOF", name="文" * 150 + ".pdf", content_type="application/pdf")
    update = services.create_update(author=maria, draft=_draft(), files=[pdf], media=[(photo, "")])
    media, attachment = update.media.get(), update.attachments.get()
    assert attachment.filename == "文" * 150 + ".pdf" and attachment.file.name.endswith(".pdf")
    assert len(attachment.file.name.rsplit("/", 1)[-1]) == 36  # 32 hex digits and ".pdf"
    assert media.mime_type == "image/jpeg" and media.filename.endswith(".jpg")
    with media.media_file.open("rb") as stored:
        assert not Image.open(stored).getexif()


def test_an_edit_can_publish_schedule_or_unschedule_in_one_step_and_a_refusal_keeps_nothing(maria, bob):
    draft = services.create_update(author=maria, draft=_draft())
    later = timezone.now() + timedelta(hours=2)
    services.edit_update(actor=maria, update=draft, draft=_draft("Moved"), then="schedule", publish_at=later)
    draft.refresh_from_db()
    assert (draft.title, draft.state, draft.published_at) == ("Moved", "scheduled", later)
    with pytest.raises(ValidationError):
        services.edit_update(actor=maria, update=draft, draft=_draft("Never kept"), then="schedule", publish_at=None)
    draft.refresh_from_db()
    assert draft.title == "Moved" and draft.state == "scheduled"
    services.edit_update(actor=maria, update=draft, draft=_draft("Moved"), then="draft")
    draft.refresh_from_db()
    assert draft.state == "draft"
    services.edit_update(actor=maria, update=draft, draft=_draft("Out now"), then="publish")
    assert selectors.feed(user=bob).items == [draft]
    with pytest.raises(ValidationError, match="already published"):
        services.edit_update(actor=maria, update=draft, draft=_draft("Again"), then="publish")
