"""The update form: each audience uses only its pickers, and audio is accepted, checked and played (pages, API)."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts import services as accounts_services
from nexus.permissions import Role
from tests.updates.media import wav_bytes
from updates import services
from updates.models import Update, UpdateMedia

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(acme):
    return accounts_services.create_member(
        organization=acme, username="sam", email="sam@acme.example", password="s3cret-pass!", role=Role.STAFF
    )


def _form(**values) -> dict:
    data = {"title": "Fire drill", "content": "", "type": "announcement", "priority": "high", "action": "publish"}
    data.update(values)
    return data


@pytest.mark.parametrize(
    ("audience", "reached"),
    [
        ("everyone", {"alice", "bob", "carol", "sam"}),
        ("roles", {"bob"}),  # The person ticked in the hidden people picker is ignored.
        ("people", {"sam"}),  # And the role ticked in the hidden roles picker.
        ("chosen", {"bob", "sam"}),
    ],
)
def test_it_uses_only_the_pickers_the_audience_needs(client_for, maria, alice, bob, carol, sam, audience, reached):
    response = client_for(maria).post(
        reverse("updates:create"), _form(audience=audience, target_roles=["technician"], target_users=[sam.pk])
    )
    update = Update.objects.get()
    assert response.status_code == 302
    assert set(update.recipients.values_list("user__username", flat=True)) == reached
    assert update.target_all == (audience == "everyone")
    assert update.target_roles == ([] if audience in ("everyone", "people") else ["technician"])


@pytest.mark.parametrize(
    ("audience", "field", "message"),
    [
        ("roles", "target_roles", "Choose at least one role"),
        ("people", "target_users", "Choose at least one person"),
        ("chosen", "audience", "Choose at least one role or person"),
        ("some", "audience", "Select a valid choice"),
    ],
)
def test_it_puts_a_missing_choice_on_its_picker_and_saves_nothing(client_for, maria, sam, audience, field, message):
    # Ticks in the other picker do not count for an audience that does not use it.
    other = {"roles": {"target_users": [sam.pk]}, "people": {"target_roles": ["staff"]}}.get(audience, {})
    response = client_for(maria).post(reverse("updates:create"), _form(audience=audience, **other))
    assert response.status_code == 200 and Update.objects.count() == 0
    errors = response.context["form"].errors
    assert list(errors) == [field] and message in errors[field][0]
    page = response.content.decode()
    # The refused picker is marked, so the page keeps it in view with its error.
    assert f'class="field has-error" data-field="{field}"' in page


def test_it_marks_each_picker_with_the_audiences_that_use_it_and_opens_an_edit_on_its_audience(client_for, maria, sam):
    page = client_for(maria).get(reverse("updates:create")).content.decode()
    assert 'data-field="target_roles" data-audiences="roles chosen"' in page
    assert 'data-field="target_users" data-audiences="people chosen"' in page
    assert page.count("data-file-picker") == 2 and 'type="datetime-local"' in page
    for draft, audience in [
        (services.Draft(title="All"), "everyone"),
        (services.Draft(title="Roles", target_all=False, target_roles=["staff"]), "roles"),
        (services.Draft(title="People", target_all=False, target_users=[sam]), "people"),
        (services.Draft(title="Both", target_all=False, target_roles=["staff"], target_users=[sam]), "chosen"),
    ]:
        update = services.create_update(author=maria, draft=draft)
        edit = client_for(maria).get(reverse("updates:edit", args=[update.pk]))
        assert edit.context["form"]["audience"].value() == audience


def test_it_accepts_audio_and_plays_it_in_the_feed_and_the_update(client_for, maria, carol):
    sound = SimpleUploadedFile("spindle noise.wav", wav_bytes(), content_type="audio/wav")
    response = client_for(maria).post(
        reverse("updates:create"), {**_form(audience="everyone"), "media": [sound], "caption": "Hear the bearing"}
    )
    assert response.status_code == 302
    update = Update.objects.get()
    item = update.media.get()
    assert (item.media_type, item.mime_type, item.filename) == (UpdateMedia.MediaType.AUDIO, "audio/wav", sound.name)
    assert not item.thumbnail
    url = reverse("updates:media", args=[update.pk, item.pk])
    client = client_for(carol)
    detail = client.get(reverse("updates:detail", args=[update.pk])).content.decode()
    assert f'<audio controls preload="metadata" src="{url}"' in detail and "Hear the bearing" in detail
    feed = client.get(reverse("updates:feed")).content.decode()
    assert f'<audio controls preload="none" src="{url}"' in feed  # The feed fetches nothing until it is played.
    served = client.get(url)
    assert served["Content-Type"] == "audio/wav" and served["Content-Disposition"].startswith("inline")
    partial = client.get(url, HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206  # A player can seek.


@pytest.mark.parametrize(
    ("upload", "reason"),
    [
        (SimpleUploadedFile("voice.mp3", b"just text pretending to be audio"), "not accepted"),
        (SimpleUploadedFile("song.wav", wav_bytes(seconds=2)), "too large"),
    ],
)
def test_it_refuses_audio_that_is_not_audio_or_too_large_and_saves_nothing(client_for, maria, settings, upload, reason):
    settings.UPDATES_MAX_VIDEO_BYTES = 20_000  # Audio shares the video limit; 2 s of this WAV is 32 kB.
    response = client_for(maria).post(reverse("updates:create"), {**_form(audience="everyone"), "media": [upload]})
    assert response.status_code == 200 and reason in response.content.decode()
    assert Update.objects.count() == 0 and UpdateMedia.objects.count() == 0


def test_audio_may_be_as_large_as_a_video_not_just_an_attachment(maria, settings):
    settings.UPDATES_MAX_FILE_BYTES = 1_000
    update = services.create_update(
        author=maria,
        draft=services.Draft(title="Noise"),
        media=[(SimpleUploadedFile("noise.wav", wav_bytes()), "")],
    )
    assert update.media.get().media_type == UpdateMedia.MediaType.AUDIO


def test_the_api_names_audio_media_and_serves_them_for_playing(client_for, maria, carol):
    update = services.create_update(
        author=maria,
        draft=services.Draft(title="Noise"),
        media=[(SimpleUploadedFile("noise.wav", wav_bytes()), "Spindle 3")],
        publish=True,
    )
    client = client_for(carol)
    body = client.get(f"/api/v1/updates/{update.pk}").json()
    assert [(item["media_type"], item["thumbnail_url"]) for item in body["media"]] == [("audio", None)]
    played = client.get(body["media"][0]["url"])
    assert played["Content-Type"] == "audio/wav" and played["Content-Disposition"].startswith("inline")
    schema = json.dumps(client.get("/api/v1/openapi.json").json())
    assert '"image", "video", "audio"' in schema
