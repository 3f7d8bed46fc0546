"""Fault photos and notes: the services, the API, and the live frames a change sends to open pages."""

import io
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from PIL import Image

from machines import services
from machines.models import FaultCase, FaultNote, FaultPhoto, Machine, MachineType
from tests.accounts.images import jpeg_upload, jpeg_with_exif, png_upload, upload
from tests.chat.test_consumer import _connect

pytestmark = pytest.mark.django_db

API = "/api/v1"


@pytest.fixture
def press(acme):
    kind = MachineType.objects.create(organization=acme, name="Press")
    return Machine.objects.create(organization=acme, name="Press P-300", machine_type=kind)


def test_it_stores_the_photos_of_a_report_re_encoded_without_metadata(press, carol):
    fault = services.report_fault(
        machine=press,
        reporter=carol,
        description="Oil on the floor",
        severity="medium",
        photos=[upload(jpeg_with_exif(), "IMG_0001.JPG", "image/jpeg"), png_upload()],
    )
    photos = list(fault.photos.order_by("pk"))
    assert [p.filename for p in photos] == ["IMG_0001.jpg", "picture.png"]
    assert all(p.note_id is None and p.uploaded_by == carol for p in photos)
    with photos[0].image.open("rb") as stored:
        image = Image.open(stored)
        assert image.format == "JPEG" and len(image.getexif()) == 0
    with photos[1].image.open("rb") as stored:
        assert Image.open(stored).format == "PNG"  # It has transparency, so it stays PNG.
    with photos[0].thumbnail.open("rb") as stored:
        assert max(Image.open(stored).size) <= services.THUMBNAIL_SIZE


@pytest.mark.parametrize(
    "uploads, reason",
    [
        ([upload(b"not an image at all", "leak.jpg", "image/jpeg")], "leak.jpg: The file is not a readable image."),
        ([upload(b"%PDF-1.4 pretending", "leak.png")], "leak.png: The file is not a readable image."),
    ],
)
def test_it_refuses_a_report_whose_photo_is_not_an_image_and_keeps_nothing(press, carol, uploads, reason, settings):
    with pytest.raises(ValidationError) as error:
        services.report_fault(machine=press, reporter=carol, description="Leak", severity="low", photos=uploads)
    assert error.value.message_dict == {"photos": [reason]}
    assert not FaultCase.objects.exists() and not FaultPhoto.objects.exists()
    press.refresh_from_db()
    assert press.status == "ok" and not press.incidents.exists()
    media = settings.MEDIA_ROOT
    assert not media.exists() or not any(path.is_file() for path in media.rglob("*"))


def test_it_refuses_more_photos_than_allowed_and_too_large_ones(press, carol, settings):
    settings.MACHINES_MAX_PHOTOS = 2
    with pytest.raises(ValidationError, match="At most 2 photos at a time"):
        services.report_fault(
            machine=press, reporter=carol, description="Leak", severity="low", photos=[png_upload()] * 3
        )
    settings.MACHINES_MAX_PHOTO_BYTES = 100
    with pytest.raises(ValidationError, match=r"picture\.jpg: The image is too large"):
        services.report_fault(machine=press, reporter=carol, description="Leak", severity="low", photos=[jpeg_upload()])
    assert not FaultCase.objects.exists()


def test_it_adds_a_note_of_photos_alone_but_not_an_empty_one(press, carol, bob):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    note = services.add_fault_note(fault=fault, author=bob, body="", photos=[jpeg_upload()])
    assert note.body == "" and list(note.photos.values_list("fault", "uploaded_by")) == [(fault.pk, bob.pk)]
    with pytest.raises(ValidationError, match="Write something first"):
        services.add_fault_note(fault=fault, author=bob, body="  ")
    with pytest.raises(PermissionDenied):
        services.add_fault_note(fault=fault, author=carol, body="I looked too", photos=[jpeg_upload()])
    assert FaultNote.objects.count() == 1 and FaultPhoto.objects.count() == 1


def test_it_tells_open_pages_when_a_machine_changes(press, carol, bob, broadcasts, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    with django_capture_on_commit_callbacks(execute=True):
        services.add_fault_note(fault=fault, author=bob, body="Seal is cracked")
    frames = [(group, json.loads(event["text"])) for group, event in broadcasts if event["type"] == "hub.text"]
    group = f"org.{press.organization_id}"
    changed = [frame for sent_to, frame in frames if sent_to == group and frame["type"] == "machines.changed"]
    assert changed == [{"type": "machines.changed", "machine": press.pk}] * 2
    assert (group, {"type": "machines.status", "machine": press.pk, "status": "fault", "label": "Fault"}) in frames


# The API


def test_it_adds_a_note_with_photos_over_the_api_and_lists_them_with_the_fault(press, carol, bob, client_for):
    fault = services.report_fault(
        machine=press, reporter=carol, description="Leak", severity="low", photos=[jpeg_upload()]
    )
    client = client_for(bob)
    response = client.post(
        f"{API}/faults/{fault.pk}/notes/", {"body": "Seal cracked", "photos": [png_upload(), jpeg_upload()]}
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["body"] == "Seal cracked" and note["author"]["id"] == bob.pk
    assert [photo["filename"] for photo in note["photos"]] == ["picture.png", "picture.jpg"]

    listed = client.get(f"{API}/machines/{press.pk}/faults/").json()[0]
    assert [photo["filename"] for photo in listed["photos"]] == ["picture.jpg"]
    assert [n["body"] for n in listed["notes"]] == ["Seal cracked"]
    photo = client.get(note["photos"][0]["url"])
    assert photo.status_code == 200 and photo["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(b"".join(photo.streaming_content))).format == "PNG"
    thumbnail = client.get(note["photos"][0]["thumbnail_url"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/jpeg"


def test_it_refuses_bad_notes_over_the_api_and_changes_nothing(press, carol, bob, mallory, client_for):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    url = f"{API}/faults/{fault.pk}/notes/"
    bad_photo = client_for(bob).post(url, {"body": "x", "photos": [upload(b"nope", "a.jpg", "image/jpeg")]})
    assert bad_photo.status_code == 400 and "a.jpg: The file is not a readable image." in bad_photo.json()["detail"]
    assert client_for(bob).post(url, {"body": ""}).status_code == 400
    assert client_for(carol).post(url, {"body": "me too"}).status_code == 403
    assert client_for(mallory).post(url, {"body": "hello"}).status_code == 404
    assert not FaultNote.objects.exists() and not FaultPhoto.objects.exists()


def test_it_serves_fault_photos_to_the_organization_only(press, carol, mallory, client_for):
    fault = services.report_fault(
        machine=press, reporter=carol, description="Leak", severity="low", photos=[jpeg_upload()]
    )
    photo = fault.photos.get()
    url = f"{API}/faults/{fault.pk}/photos/{photo.pk}/"
    assert client_for(carol).get(url).status_code == 200
    assert client_for(mallory).get(url).status_code == 404
    other = services.report_fault(machine=press, reporter=carol, description="Second", severity="low")
    assert client_for(carol).get(f"{API}/faults/{other.pk}/photos/{photo.pk}/").status_code == 404


# The socket


async def _frames_until(communicator, wanted_type: str) -> list[dict]:
    frames = []
    while not frames or frames[-1].get("type") != wanted_type:
        text = await communicator.receive_from(timeout=5)
        if text.startswith("{"):
            frames.append(json.loads(text))
    return frames


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_reported_fault_reaches_the_organizations_sockets_and_no_others(acme, carol, bob, mallory):
    from asgiref.sync import sync_to_async

    machine = await sync_to_async(
        lambda: Machine.objects.create(
            organization=acme, name="Press P-300", machine_type=MachineType.objects.create(organization=acme, name="P")
        )
    )()
    (bob_socket, *_), (mallory_socket, *_) = await _connect(bob), await _connect(mallory)
    try:
        await sync_to_async(services.report_fault)(machine=machine, reporter=carol, description="Leak", severity="high")
        frames = await _frames_until(bob_socket, "machines.changed")
        assert {"type": "machines.status", "machine": machine.pk, "status": "fault", "label": "Fault"} in frames
        # Mallory's socket hears her own presence and counts, never another organization's machines.
        heard = []
        while not await mallory_socket.receive_nothing(timeout=0.5):
            heard.append(await mallory_socket.receive_from())
        assert not [text for text in heard if "machines." in text or "Press P-300" in text]
    finally:
        await bob_socket.disconnect()
        await mallory_socket.disconnect()


def _stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def test_a_report_that_fails_after_storing_its_photos_leaves_no_file(press, carol, settings, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "refresh_status", broken)
    with pytest.raises(RuntimeError):
        services.report_fault(
            machine=press, reporter=carol, description="Leak", severity="low", photos=[jpeg_upload(), png_upload()]
        )
    assert _stored_files(settings) == [] and not FaultPhoto.objects.exists()


def test_deleting_a_machine_removes_its_photos_from_storage(
    press, carol, bob, maria, settings, django_capture_on_commit_callbacks
):
    fault = services.report_fault(
        machine=press, reporter=carol, description="Leak", severity="low", photos=[jpeg_upload()]
    )
    services.add_fault_note(fault=fault, author=bob, body="", photos=[png_upload()])
    assert len(_stored_files(settings)) == 4  # Two photos, each with its thumbnail.
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_machine(actor=maria, machine=press)
    assert _stored_files(settings) == []


def test_a_note_outlives_its_authors_account(press, carol, bob, maria, client_for):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    services.add_fault_note(fault=fault, author=bob, body="Seal cracked")
    bob.delete()
    note = FaultNote.objects.get()
    assert (note.body, note.author) == ("Seal cracked", None)
    listed = client_for(maria).get(f"{API}/machines/{press.pk}/faults/").json()[0]
    assert listed["notes"][0]["author"] is None
    page = client_for(carol).get(f"/machines/{press.pk}/").content.decode()
    assert "someone who has left" in page and "Seal cracked" in page
