"""Update pages: who sees what, the feed's queries and pages, the form, reactions, and the protected files."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from nexus.permissions import Role
from tests.accounts.images import huge_png, png_upload
from updates import services
from updates.models import Priority, Update, UpdateComment, UpdateLike, UpdateRecipient, UpdateType

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64


@pytest.fixture
def sam(acme):
    return accounts_services.create_member(
        organization=acme, username="sam", email="sam@acme.example", password="s3cret-pass!", role=Role.STAFF
    )


def _publish(author, title="Forklift training", files=(), media=(), **fields) -> Update:
    return services.create_update(
        author=author, draft=services.Draft(title=title, **fields), files=files, media=media, publish=True
    )


@pytest.fixture
def for_staff(maria, carol, bob):
    """A critical update maria published to the staff role (carol), with a picture, a video and a PDF."""
    return _publish(
        maria,
        title="Evacuation drill at ten",
        content="Meet at **gate 2**.",
        priority=Priority.CRITICAL,
        target_all=False,
        target_roles=[Role.STAFF],
        files=[SimpleUploadedFile("plan.pdf", PDF, content_type="application/pdf")],
        media=[(png_upload(), "The gate"), (SimpleUploadedFile("how.mp4", MP4, content_type="video/mp4"), "")],
    )


def _pages(update) -> dict[str, str]:
    return {
        "feed": reverse("updates:feed"),
        "detail": reverse("updates:detail", args=[update.pk]),
        "drafts": reverse("updates:drafts"),
        "new": reverse("updates:create"),
        "edit": reverse("updates:edit", args=[update.pk]),
    }


def _files(update) -> list[str]:
    image, video = update.media.order_by("pk")
    return [
        reverse("updates:attachment", args=[update.pk, update.attachments.get().pk]),
        reverse("updates:media", args=[update.pk, image.pk]),
        reverse("updates:thumbnail", args=[update.pk, image.pk]),
        reverse("updates:media", args=[update.pk, video.pk]),
    ]


# Who sees what


def test_it_shows_the_author_every_page_with_acknowledgements(client_for, maria, for_staff):
    client = client_for(maria)
    statuses = {name: client.get(url).status_code for name, url in _pages(for_staff).items()}
    assert statuses == {"feed": 200, "detail": 200, "drafts": 200, "new": 200, "edit": 200}
    page = client.get(_pages(for_staff)["detail"]).content.decode()
    assert f'id="update-{for_staff.pk}-acks"' in page and "0 of 1 acknowledged" in page
    assert "Carol" in page and "Remind those who have not acknowledged" in page
    assert 'data-testid="edit-update"' in page and 'data-testid="delete-update"' in page
    feed = client.get(reverse("updates:feed")).content.decode()
    assert f'href="{reverse("chat:system-messages")}" data-testid="system-messages-link"' in feed


def test_it_shows_a_targeted_staff_member_the_update_but_not_the_managing_pages(client_for, carol, for_staff):
    client = client_for(carol)
    statuses = {name: client.get(url).status_code for name, url in _pages(for_staff).items()}
    assert statuses == {"feed": 200, "detail": 200, "drafts": 403, "new": 403, "edit": 403}
    feed = client.get(reverse("updates:feed")).content.decode()
    assert "Evacuation drill at ten" in feed and "<strong>gate 2</strong>" in feed
    assert 'data-testid="acknowledge"' in feed
    assert 'data-testid="system-messages-link"' not in feed  # Banners are the managers'.
    detail = client.get(_pages(for_staff)["detail"]).content.decode()
    assert f'id="update-{for_staff.pk}-acks"' not in detail and "<video controls" in detail
    assert all(client.get(url).status_code == 200 for url in _files(for_staff))


@pytest.mark.parametrize("persona", ["bob", "alice", "mallory"])
def test_it_answers_404_to_anyone_the_update_was_not_published_to(request, client_for, for_staff, persona):
    """A technician and an admin of the organization who were not targeted, and an admin of another one."""
    client = client_for(request.getfixturevalue(persona))
    feed = client.get(reverse("updates:feed"))
    assert feed.status_code == 200 and "Evacuation drill" not in feed.content.decode()
    assert client.get(_pages(for_staff)["detail"]).status_code == 404
    assert client.get(_pages(for_staff)["edit"]).status_code == 404
    for url in _files(for_staff):
        assert client.get(url).status_code == 404, url
    for name in ("like", "acknowledge", "comment", "remind", "publish", "delete"):
        assert client.post(reverse(f"updates:{name}", args=[for_staff.pk]), {"content": "x"}).status_code == 404
    assert Update.objects.filter(pk=for_staff.pk, deleted_at=None).exists()


def test_it_keeps_drafts_to_their_author(client_for, maria, alice, carol):
    draft = services.create_update(author=maria, draft=services.Draft(title="Not yet"))
    page = client_for(maria).get(reverse("updates:drafts")).content.decode()
    assert "Not yet" in page and 'data-testid="draft-row"' in page
    assert "Not yet" not in client_for(maria).get(reverse("updates:feed")).content.decode()
    assert client_for(carol).get(reverse("updates:detail", args=[draft.pk])).status_code == 404
    assert client_for(alice).get(reverse("updates:drafts")).content.decode().count('data-testid="draft-row"') == 0


def test_it_serves_files_with_their_disposition_and_type(client_for, maria, carol, for_staff):
    client = client_for(carol)
    attachment, image, thumbnail, video = (client.get(url) for url in _files(for_staff))
    assert attachment["Content-Disposition"].startswith("attachment") and b"".join(attachment.streaming_content) == PDF
    assert image["Content-Type"] == "image/png" and image["Content-Disposition"].startswith("inline")
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert video["Content-Type"] == "video/mp4" and video["Content-Disposition"].startswith("inline")
    # A file id of another update is not found through this one.
    other = _publish(maria, files=[SimpleUploadedFile("b.pdf", PDF)])
    mixed = reverse("updates:attachment", args=[for_staff.pk, other.attachments.get().pk])
    assert client.get(mixed).status_code == 404


# The feed


def _queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **extra)
    assert response.status_code == 200
    return len(context.captured_queries)


def _many(author, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        _publish(
            author,
            title=f"Update {n}",
            priority=Priority.values[n % 4],
            type=UpdateType.values[n % 6],
            files=[SimpleUploadedFile(f"f{n}.txt", b"notes\n", content_type="text/plain")],
            media=[(png_upload(size=(8, 8)), f"caption {n}")],
        )


def test_it_runs_a_constant_number_of_queries_whatever_the_updates(
    client_for, maria, carol, django_assert_max_num_queries
):
    client = client_for(carol)
    url = reverse("updates:feed")
    _many(maria, 5)
    client.get(url)
    few = _queries(client, url)
    _many(maria, 20, start=5)
    with django_assert_max_num_queries(few):
        response = client.get(url)
    assert response.content.decode().count('data-testid="update-card"') == 20


def test_it_pages_the_feed_newest_first_with_a_sentinel_and_a_plain_older_link(client_for, maria, carol):
    for n in range(23):
        _publish(maria, title=f"Update {n:02}")
    client = client_for(carol)
    first = client.get(reverse("updates:feed")).content.decode()
    assert first.index("Update 22") < first.index("Update 21") and "Update 02" not in first
    start = first.index('id="feed-more"')
    sentinel = first[start : first.index(">", start)]
    assert 'hx-trigger="revealed"' in sentinel and 'href="?cursor=' in sentinel
    next_url = reverse("updates:feed") + sentinel.split('href="')[1].split('"')[0].replace("&amp;", "&")
    more = client.get(next_url, HTTP_HX_TARGET="feed-more", **HTMX).content.decode()
    assert "<html" not in more and "Update 02" in more and "Update 00" in more and "Update 03" not in more
    assert 'id="feed-more"' not in more
    plain = client.get(next_url).content.decode()
    assert "<html" in plain and "Update 00" in plain


def test_it_filters_by_type_and_priority_and_htmx_gets_only_the_list(client_for, maria, carol):
    _publish(maria, title="Press 4 down", type=UpdateType.MAINTENANCE, priority=Priority.HIGH)
    _publish(maria, title="Canteen menu", type=UpdateType.NEWS, priority=Priority.LOW)
    client = client_for(carol)
    page = client.get(reverse("updates:feed"), {"type": "maintenance"}).content.decode()
    assert "Press 4 down" in page and "Canteen menu" not in page
    partial = client.get(reverse("updates:feed"), {"priority": "low"}, HTTP_HX_TARGET="feed-list", **HTMX)
    content = partial.content.decode()
    assert content.lstrip().startswith('<div id="feed-list"') and "Canteen menu" in content and "Press 4" not in content
    assert "Canteen menu" in client.get(reverse("updates:feed"), {"type": "nonsense"}).content.decode()


# Writing


def _form(**values) -> dict:
    data = {"title": "Fire drill", "content": "At *ten*.", "type": "announcement", "priority": "high"}
    data.update({"audience": "everyone", "action": "publish"})
    data.update(values)
    return data


def test_it_publishes_to_chosen_roles_and_people(client_for, maria, bob, carol, sam):
    response = client_for(maria).post(
        reverse("updates:create"),
        _form(audience="chosen", target_roles=["technician"], target_users=[sam.pk], priority="critical"),
    )
    update = Update.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("updates:detail", args=[update.pk])
    assert update.is_published and update.content_html.strip() == "<p>At <em>ten</em>.</p>"
    assert set(update.recipients.values_list("user__username", flat=True)) == {"bob", "sam"}


def test_it_saves_drafts_and_schedules_in_the_organizations_time(client_for, maria):
    client = client_for(maria)
    client.post(reverse("updates:create"), _form(title="Draft one", action="draft"))
    when = timezone.localtime(timezone.now() + timedelta(days=2), maria.organization.tzinfo).replace(
        second=0, microsecond=0
    )
    client.post(
        reverse("updates:create"), _form(title="Later", action="schedule", published_at=when.strftime("%Y-%m-%dT%H:%M"))
    )
    draft, later = Update.objects.get(title="Draft one"), Update.objects.get(title="Later")
    assert draft.state == "draft" and later.state == "scheduled" and later.published_at == when
    page = client.get(reverse("updates:drafts")).content.decode()
    assert "Draft one" in page and "Later" in page and when.strftime("%H:%M") in page


@pytest.mark.parametrize(
    "values, field",
    [
        ({"title": ""}, "title"),
        ({"audience": "chosen"}, "audience"),
        ({"action": "schedule", "published_at": ""}, "published_at"),
        ({"action": "schedule", "published_at": "2001-01-01T10:00"}, "published_at"),
        ({"priority": "apocalyptic"}, "priority"),
    ],
)
def test_it_shows_form_errors_beside_the_fields_and_saves_nothing(client_for, maria, values, field):
    response = client_for(maria).post(reverse("updates:create"), _form(**values))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Update.objects.count() == 0 and UpdateRecipient.objects.count() == 0


@pytest.mark.parametrize(
    "files, reason",
    [
        ({"attachments": [SimpleUploadedFile("report.pdf", b"just some text\n")]}, "not accepted"),
        ({"media": [SimpleUploadedFile("flood.png", huge_png(20_000, 20_000), content_type="image/png")]}, "pixels"),
        ({"media": [SimpleUploadedFile("notes.png", b"text pretending", content_type="image/png")]}, "not accepted"),
    ],
)
def test_it_refuses_files_that_are_not_what_they_claim_and_saves_nothing(client_for, maria, files, reason):
    response = client_for(maria).post(reverse("updates:create"), {**_form(), **files})
    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].non_field_errors())
    assert reason in response.content.decode()
    assert Update.objects.count() == 0


def test_it_refuses_oversized_files(client_for, maria, settings):
    settings.UPDATES_MAX_FILE_BYTES = 1000
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * 2000, content_type="application/pdf")
    response = client_for(maria).post(reverse("updates:create"), {**_form(), "attachments": [big]})
    assert "too large" in response.content.decode() and Update.objects.count() == 0


def test_it_edits_a_draft_then_publishes_it_and_keeps_the_audience_after(client_for, maria, carol, bob):
    update = services.create_update(
        author=maria, draft=services.Draft(title="Draft", target_all=False, target_roles=["staff"])
    )
    client = client_for(maria)
    page = client.get(reverse("updates:edit", args=[update.pk])).content.decode()
    assert 'value="Draft"' in page and 'value="staff"' in page
    client.post(
        reverse("updates:edit", args=[update.pk]),
        _form(title="Now final", audience="chosen", target_roles=["staff"], action="publish"),
    )
    update.refresh_from_db()
    assert update.title == "Now final" and update.is_published
    assert list(update.recipients.values_list("user__username", flat=True)) == ["carol"]
    response = client.post(reverse("updates:edit", args=[update.pk]), _form(title="Fixed typo", action="save"))
    update.refresh_from_db()
    assert response.status_code == 302 and update.title == "Fixed typo" and update.edited_at is not None
    assert list(update.recipients.values_list("user__username", flat=True)) == ["carol"]


def test_it_keeps_the_draft_unchanged_when_scheduling_in_the_past(client_for, maria):
    update = services.create_update(author=maria, draft=services.Draft(title="Draft"))
    client_for(maria).post(
        reverse("updates:edit", args=[update.pk]),
        _form(title="Changed", action="schedule", published_at="2001-01-01T10:00"),
    )
    update.refresh_from_db()
    assert update.title == "Draft" and update.state == "draft"


# Reactions


def test_it_likes_and_unlikes_with_the_bar_for_htmx_and_a_redirect_otherwise(client_for, maria, carol, for_staff):
    client = client_for(carol)
    url = reverse("updates:like", args=[for_staff.pk])
    response = client.post(url, {"liked": "1"}, **HTMX)
    assert response.status_code == 200 and 'data-testid="like-count">1<' in response.content.decode()
    assert 'aria-pressed="true"' in response.content.decode() and "Liked" in response.content.decode()
    response = client.post(url, {"liked": "0", "next": "/updates/"})
    assert response.status_code == 302 and response["Location"] == "/updates/"
    assert not UpdateLike.objects.exists()
    assert client.get(url).status_code == 405


def test_it_acknowledges_once_and_refuses_what_needs_no_acknowledgement(client_for, maria, carol, for_staff):
    client = client_for(carol)
    response = client.post(reverse("updates:acknowledge", args=[for_staff.pk]), **HTMX)
    assert response.status_code == 200 and 'data-testid="acknowledged"' in response.content.decode()
    assert "nexus:toast" in response["HX-Trigger"]
    assert UpdateRecipient.objects.get(update=for_staff, user=carol).acknowledged_at is not None
    page = client_for(maria).get(reverse("updates:detail", args=[for_staff.pk])).content.decode()
    assert "1 of 1 acknowledged" in page
    plain = _publish(maria, title="Canteen")
    refused = client.post(reverse("updates:acknowledge", args=[plain.pk]), **HTMX)
    assert refused.status_code == 400 and "does not ask" in refused.content.decode()
    # The author is not a recipient of an update for staff: refused, not an error page.
    assert client_for(maria).post(reverse("updates:acknowledge", args=[for_staff.pk]), **HTMX).status_code == 403


def test_it_comments_replies_and_removes_comments(client_for, maria, carol, for_staff):
    client = client_for(carol)
    url = reverse("updates:comment", args=[for_staff.pk])
    response = client.post(url, {"content": "Which **gate**?"}, **HTMX)
    assert response.status_code == 200 and "<strong>gate</strong>" in response.content.decode()
    top = UpdateComment.objects.get()
    reply = client_for(maria).post(url, {"content": "Gate 2", "parent": top.pk}, **HTMX).content.decode()
    assert 'data-testid="reply"' in reply and "Gate 2" in reply
    assert client.post(url, {"content": "   "}, **HTMX).status_code == 400
    assert client.post(url, {"content": ""}).status_code == 302
    answer = client_for(maria).get(reverse("updates:feed")).content.decode()
    assert "2 comments" in answer
    own_reply = UpdateComment.objects.get(parent=top)
    # Carol may not remove maria's reply; maria (the author) may remove anything.
    assert client.post(reverse("updates:delete-comment", args=[for_staff.pk, own_reply.pk]), **HTMX).status_code == 403
    response = client_for(maria).post(reverse("updates:delete-comment", args=[for_staff.pk, top.pk]), **HTMX)
    assert response.status_code == 200 and not UpdateComment.objects.exists()


def test_it_reminds_once_per_interval_and_only_for_managers(client_for, maria, carol, for_staff):
    url = reverse("updates:remind", args=[for_staff.pk])
    response = client_for(maria).post(url, **HTMX)
    assert response.status_code == 200 and "Reminded 1 person" in response["HX-Trigger"]
    assert f'id="update-{for_staff.pk}-receipts"' in response.content.decode()
    client = client_for(maria)
    again = client.post(url)
    assert again.status_code == 302
    assert "less than 10 minutes ago" in client.get(again["Location"]).content.decode()
    assert client_for(carol).post(url, **HTMX).status_code == 403


def test_it_publishes_a_draft_and_deletes_updates(client_for, maria, carol):
    draft = services.create_update(author=maria, draft=services.Draft(title="Soon"))
    response = client_for(maria).post(reverse("updates:publish", args=[draft.pk]))
    assert response.status_code == 302 and Update.objects.get(pk=draft.pk).is_published
    assert client_for(maria).post(reverse("updates:publish", args=[draft.pk]), **HTMX).status_code == 400
    assert client_for(carol).post(reverse("updates:delete", args=[draft.pk])).status_code == 302  # Refused, flashed.
    assert Update.objects.get(pk=draft.pk).deleted_at is None
    response = client_for(maria).post(reverse("updates:delete", args=[draft.pk]), **HTMX)
    assert response.status_code == 204 and response["HX-Redirect"] == reverse("updates:feed")
    assert client_for(carol).get(reverse("updates:detail", args=[draft.pk])).status_code == 404


def test_it_offers_several_files_the_audience_and_a_time_in_the_form(client_for, maria, carol):
    page = client_for(maria).get(reverse("updates:create")).content.decode()
    assert 'type="file" name="media"' in page and 'type="file" name="attachments"' in page and "multiple" in page
    assert 'type="datetime-local"' in page and 'name="target_roles"' in page and "Carol (Staff)" in page
    for action in ("publish", "schedule", "draft"):
        assert f'name="action" value="{action}"' in page


def test_it_sends_only_the_thread_to_a_page_refreshing_its_comments(client_for, carol, bob, for_staff):
    services.add_comment(user=carol, update=for_staff, content="On my way")
    url = reverse("updates:detail", args=[for_staff.pk])
    thread = client_for(carol).get(url, HTTP_HX_TARGET="comments", **HTMX).content.decode()
    assert thread.lstrip().startswith('<div id="comments"') and "On my way" in thread and "<html" not in thread
    assert client_for(bob).get(url, HTTP_HX_TARGET="comments", **HTMX).status_code == 404


def test_editing_takes_off_the_files_ticked_and_keeps_the_rest(
    client_for, maria, for_staff, django_capture_on_commit_callbacks
):
    picture, video = for_staff.media.order_by("pk")
    pdf = for_staff.attachments.get()
    stored = picture.media_file.name
    with django_capture_on_commit_callbacks(execute=True):  # Files leave storage after the commit.
        response = client_for(maria).post(
            reverse("updates:edit", args=[for_staff.pk]),
            {
                "title": for_staff.title,
                "content": for_staff.content,
                "type": for_staff.type,
                "priority": for_staff.priority,
                "action": "save",
                "remove_files": [f"media-{picture.pk}", f"file-{pdf.pk}"],
            },
        )
    assert response.status_code == 302
    assert list(for_staff.media.all()) == [video] and not for_staff.attachments.exists()
    assert not picture.media_file.storage.exists(stored)


def test_videos_answer_byte_ranges_so_they_can_seek(client_for, carol, bob, for_staff):
    video = for_staff.media.get(media_type="video")
    url = reverse("updates:media", args=[for_staff.pk, video.pk])
    whole = client_for(carol).get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    body = b"".join(whole.streaming_content)
    part = client_for(carol).get(url, HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206 and part.content == body[4:12] and part["Content-Type"] == "video/mp4"
    assert part["Content-Range"] == f"bytes 4-11/{len(body)}"
    assert client_for(carol).get(url, HTTP_RANGE="bytes=-4").content == body[-4:]
    assert client_for(carol).get(url, HTTP_RANGE=f"bytes={len(body) + 5}-").status_code == 416
    assert client_for(bob).get(url, HTTP_RANGE="bytes=0-3").status_code == 404


def test_only_the_updates_manager_gets_the_list_of_who_received_it(client_for, maria, carol, for_staff):
    url = reverse("updates:detail", args=[for_staff.pk])
    target = {"HTTP_HX_TARGET": f"update-{for_staff.pk}-receipts", **HTMX}
    assert 'data-testid="receipts"' in client_for(maria).get(url, **target).content.decode()
    assert 'data-testid="receipts"' not in client_for(carol).get(url, **target).content.decode()
