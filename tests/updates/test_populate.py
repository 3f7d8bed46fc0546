"""The demo data command `populate_updates` (and its place in `populate_all`)."""

import pytest
from django.core.management.base import CommandError
from django.db.models import F
from django.utils import timezone
from notifications.models import Notification
from PIL import Image

from accounts import services as accounts_services
from accounts.models import Organization
from nexus.permissions import Role
from tests.commands import run_command
from updates import services
from updates.management.commands import populate_updates
from updates.models import Priority, Update, UpdateAttachment, UpdateComment, UpdateLike, UpdateMedia, UpdateRecipient

pytestmark = pytest.mark.django_db

SCRIPTED = {spec.title for spec in populate_updates.SCRIPT}
SAFETY, SCHEDULED, COMPRESSOR, ALERT, NEWS, DRAFT = (spec.title for spec in populate_updates.SCRIPT)
ACME_PEOPLE = {"alice", "maria", "tom", "tina", "sam", "sue"}


def _run(name: str = "populate_updates", **options) -> str:
    return run_command(name, **options)


def _acme(title: str) -> Update:
    return Update.objects.get(organization__slug="acme", title=title)


def _people(queryset) -> set[str]:
    return set(queryset.values_list("user__username", flat=True))


def _snapshot() -> dict:
    return {
        "updates": list(Update.objects.order_by("pk").values()),
        "targets": sorted(Update.target_users.through.objects.values_list("update_id", "user_id")),
        "recipients": list(UpdateRecipient.objects.order_by("pk").values()),
        "attachments": list(UpdateAttachment.objects.order_by("pk").values()),
        "media": list(UpdateMedia.objects.order_by("pk").values()),
        "comments": list(UpdateComment.objects.order_by("pk").values()),
        "likes": list(UpdateLike.objects.order_by("pk").values()),
        "notifications": list(Notification.objects.order_by("pk").values_list("pk", "recipient_id", "timestamp")),
    }


def test_it_creates_the_scripted_updates_of_every_organization(demo_people):
    output = _run(count=0)
    assert set(Update.objects.filter(organization__slug="acme").values_list("title", flat=True)) == SCRIPTED
    assert set(Update.objects.filter(organization__slug="globex").values_list("title", flat=True)) == SCRIPTED
    assert "populate_updates: 12 updates created, 0 already there." in output
    assert "acme: 6/6 updates" in output
    # Authors are managers, else administrators: Globex has only mallory.
    assert set(Update.objects.filter(organization__slug="acme").values_list("created_by__username", flat=True)) == {
        "alice",
        "maria",
    }
    assert set(Update.objects.filter(organization__slug="globex").values_list("created_by__username", flat=True)) == {
        "mallory"
    }


def test_it_posts_the_safety_announcement_to_everyone_with_a_pdf_and_a_thread(demo_people):
    _run(count=0)
    safety = _acme(SAFETY)
    assert safety.is_published and safety.created_by.username == "alice" and safety.priority == Priority.HIGH
    assert _people(safety.recipients) == ACME_PEOPLE - {"alice"}  # An author is not her own recipient.
    attachment = safety.attachments.get()
    assert (attachment.filename, attachment.mime_type) == ("press-shop-safety-rules.pdf", "application/pdf")
    with attachment.file.open("rb") as stored:
        data = stored.read()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert attachment.file_size == len(data)
    assert attachment.file.name.startswith(f"updates/{safety.organization_id}/")
    [top] = safety.comments.filter(parent=None)
    replies = list(top.replies.order_by("created_at"))
    assert top.author.username != "alice" and len(replies) == 2
    assert replies[0].author.username == "alice" and replies[1].author.username not in {"alice", top.author.username}
    assert top.created_at < replies[0].created_at < replies[1].created_at <= timezone.now()
    assert safety.published_at < top.created_at
    # alice is told of the comments on her update, the first commenter of both replies to them.
    assert Notification.objects.filter(recipient__username="alice", verb="commented on").count() == 2
    assert Notification.objects.filter(recipient=top.author, verb="commented on").count() == 2


def test_it_schedules_one_maintenance_window_and_publishes_another_to_the_technicians(demo_people):
    _run(count=0)
    scheduled = _acme(SCHEDULED)
    assert scheduled.type == "maintenance" and scheduled.target_roles == [Role.TECHNICIAN]
    assert not scheduled.is_published and scheduled.state == "scheduled"
    assert scheduled.published_at > timezone.now() and not scheduled.recipients.exists()
    published = _acme(COMPRESSOR)
    assert published.type == "maintenance" and published.is_published
    assert _people(published.recipients) == {"tom", "tina"}
    # The periodic job publishes the scheduled one when its time comes.
    due = Update.objects.filter(title=SCHEDULED).order_by("-published_at").first().published_at
    assert services.publish_due_updates(now=due) == 2  # Acme's and Globex's.
    scheduled.refresh_from_db()
    assert scheduled.is_published and _people(scheduled.recipients) == {"tom", "tina"}


def test_it_sends_everyone_the_critical_alert_and_some_acknowledge_it(demo_people):
    _run(count=0)
    alert = _acme(ALERT)
    assert alert.priority == Priority.CRITICAL and alert.type == "alert" and alert.needs_acknowledgement
    assert alert.created_by.username == "maria" and _people(alert.recipients) == ACME_PEOPLE - {"maria"}
    acknowledged = _people(alert.recipients.exclude(acknowledged_at=None))
    assert len(acknowledged) == 3
    assert services.acknowledgement_counts(alert) == (3, 5)
    assert not alert.recipients.filter(acknowledged_at__lt=F("update__published_at")).exists()
    assert not alert.recipients.filter(acknowledged_at__gt=timezone.now()).exists()
    # Globex's mallory is the only one there: her alert has no recipient.
    globex_alert = Update.objects.get(organization__slug="globex", title=ALERT)
    assert services.acknowledgement_counts(globex_alert) == (0, 0)


def test_it_shows_news_with_two_thumbnailed_images_and_likes(demo_people):
    _run(count=0)
    news = _acme(NEWS)
    assert news.type == "news" and _people(news.recipients) == ACME_PEOPLE - {news.created_by.username}
    media = list(news.media.order_by("pk"))
    assert [item.caption for item in media] == [caption for _name, caption, _n in populate_updates.SCRIPT[4].images]
    for item in media:
        assert item.media_type == UpdateMedia.MediaType.IMAGE and item.mime_type == "image/png"
        with item.thumbnail.open("rb") as thumbnail:
            image = Image.open(thumbnail)
            assert image.format == "JPEG" and max(image.size) <= services.THUMBNAIL_SIZE
    likers = set(news.likes.values_list("user__username", flat=True))
    assert len(likers) == 4 and "maria" not in likers and likers <= ACME_PEOPLE


def test_it_leaves_a_draft_of_a_manager(demo_people):
    _run(count=0)
    draft = _acme(DRAFT)
    assert draft.state == "draft" and draft.created_by.username == "maria"
    assert not draft.recipients.exists() and draft.published_at is None


def test_it_backdates_the_published_updates_and_their_notifications(demo_people):
    _run(count=0)
    safety = _acme(SAFETY)
    now = timezone.now()
    assert (now - safety.published_at).days >= 2 and safety.created_at == safety.published_at
    published = Notification.objects.filter(target_object_id=str(safety.pk), verb="published an update")
    assert published.count() == 5 and set(published.values_list("timestamp", flat=True)) == {safety.published_at}
    feed = Update.objects.filter(organization__slug="acme", is_published=True).order_by("published_at")
    assert list(feed.values_list("title", flat=True)) == [SAFETY, NEWS, COMPRESSOR, ALERT]


def test_it_adds_generated_news_and_announcements_for_the_count(demo_people):
    _run(count=5, organization="acme")
    generated = Update.objects.filter(organization__slug="acme").exclude(title__in=SCRIPTED)
    assert generated.count() == 5
    assert all(update.is_published and update.target_all for update in generated)
    assert set(generated.values_list("type", flat=True)) <= {"news", "announcement"}
    for update in generated:
        assert _people(update.recipients) == ACME_PEOPLE - {update.created_by.username}


def test_it_changes_nothing_when_run_twice(demo_people):
    _run(count=4)
    first = _snapshot()
    output = _run(count=4)
    assert _snapshot() == first
    assert "populate_updates: 0 updates created, 20 already there." in output
    assert "acme: nothing to add" in output


def test_it_adds_only_the_missing_updates_for_a_larger_count(demo_people):
    _run(count=2, organization="acme")
    titles = set(Update.objects.values_list("title", flat=True))
    output = _run(count=4, organization="acme")
    assert "2 updates created, 8 already there" in output
    assert titles < set(Update.objects.values_list("title", flat=True))
    assert Update.objects.count() == 10


def test_it_generates_the_same_updates_for_the_same_seed():
    def titles(seed, count):
        taken, out = set(), []
        for index in range(count):
            spec = populate_updates.generated_script(index=index, seed=seed, taken=taken)
            taken.add(spec.title)
            out.append(spec.title)
        return out

    assert titles(1, 8) == titles(1, 8)
    assert titles(1, 8)[:3] == titles(1, 3)
    assert len(set(titles(1, 20))) == 20
    assert titles(1, 8) != titles(2, 8)
    assert populate_updates.picture(0, seed=1) == populate_updates.picture(0, seed=1)


def test_it_leaves_other_organizations_alone(demo_people):
    mallory_update = services.create_update(
        author=accounts_services.User.objects.get(username="mallory"),
        draft=services.Draft(title="Globex's own news"),
        publish=True,
    )
    before = list(Update.objects.filter(pk=mallory_update.pk).values())
    _run(organization="acme")
    assert list(Update.objects.filter(organization__slug="globex").values()) == before
    _run()
    assert not UpdateRecipient.objects.exclude(user__organization=F("update__organization")).exists()
    assert not UpdateComment.objects.exclude(author__organization=F("update__organization")).exists()
    assert not UpdateLike.objects.exclude(user__organization=F("update__organization")).exists()
    assert not Update.objects.exclude(created_by__organization=F("organization")).exists()


def test_it_skips_an_organization_where_nobody_may_post(demo_people):
    floor = accounts_services.create_organization(name="Floor Only", slug="floor-only")
    accounts_services.create_member(
        organization=floor, username="oscar", email="oscar@floor.example", password="s3cret-pass!", role=Role.STAFF
    )
    output = _run(count=1)
    assert "floor-only: skipped, nobody there may post updates" in output
    assert "1 organizations skipped" in output
    assert not Update.objects.filter(organization=floor).exists()
    assert Organization.objects.count() == 3


def test_it_refuses_a_negative_count(db):
    with pytest.raises(CommandError):
        _run(count=-1)


def test_it_writes_a_pdf_a_reader_can_follow():
    data = populate_updates.pdf_document(("Title", "A (bracketed) line"))
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data.startswith(b"%PDF-1.4") and data[xref:].startswith(b"xref\n0 6\n")
    offsets = [int(row[:10]) for row in data[xref:].split(b"\n")[3:8]]
    assert [data[offset:].split(b"\n", 1)[0] for offset in offsets] == [b"%d 0 obj" % n for n in range(1, 6)]
    assert b"A \\(bracketed\\) line" in data


def test_it_runs_populate_updates_after_the_chat_commands_in_populate_all(db):
    from nexus.management.commands.populate_all import POPULATE_COMMANDS

    position = POPULATE_COMMANDS.index("populate_system_messages")
    assert POPULATE_COMMANDS[position + 1] == "populate_updates"
    output = _run("populate_all")
    assert "populate_updates: 24 updates created" in output
    again = _run("populate_all")
    assert "populate_updates: 0 updates created, 24 already there" in again
