"""Machine pages: the organization boundary, role limits, the main flows, bad input, photos, queries and htmx.

Personas from tests/conftest.py: maria (manager) keeps the machines, bob
(technician) repairs, carol (staff) reports, alice is the admin and mallory is
an admin of another organization.
"""

import io
import json
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.models import hash_secret
from activities.models import CLOSED_STATUSES, ActivityType
from machines import services
from machines.management.commands.populate_machines import ROLLER_EMBED, ROLLER_MODEL_ID
from machines.models import (
    FaultCase,
    FaultNote,
    FaultPhoto,
    Incident,
    IntegrationToken,
    Machine,
    MachineEdge,
    MachineStatusChange,
    MachineType,
    MachineWarning,
)
from tests.accounts.images import image_bytes, jpeg_with_exif, open_stored

pytestmark = pytest.mark.django_db

HF_KEY = "hf_TopSecretKey_4b1d9e"


# Helpers


def _png(name="leak.png", size=(40, 30)) -> SimpleUploadedFile:
    """An RGBA PNG: with transparency, so it stays PNG when re-encoded."""
    return SimpleUploadedFile(name, image_bytes(size=size, image_format="PNG"), content_type="image/png")


def _jpeg(name="crack.jpg", size=(40, 30)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size=size, image_format="JPEG"), content_type="image/jpeg")


def _flash(response) -> str:
    """The message a redirected post left; earlier ones wait in the session until a page shows them."""
    return str(list(get_messages(response.wsgi_request))[-1])


def _media_files() -> list:
    root = settings.MEDIA_ROOT
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _snapshot() -> dict:
    """Every machine row there is, to show a refused request changed nothing."""
    return {
        "machines": list(Machine.objects.order_by("pk").values()),
        "types": list(MachineType.objects.order_by("pk").values()),
        "edges": list(MachineEdge.objects.order_by("pk").values()),
        "faults": list(FaultCase.objects.order_by("pk").values()),
        "notes": list(FaultNote.objects.order_by("pk").values()),
        "photos": list(FaultPhoto.objects.order_by("pk").values()),
        "warnings": list(MachineWarning.objects.order_by("pk").values()),
        "incidents": list(Incident.objects.order_by("pk").values()),
        "tokens": list(IntegrationToken.objects.order_by("pk").values()),
        "status_changes": list(MachineStatusChange.objects.order_by("pk").values()),
        "media": sorted(str(path) for path in _media_files()),
    }


def _queries(client, url, **extra) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **extra)
    assert response.status_code == 200, response.content[:500]
    return len(context.captured_queries)


def _htmx(target: str) -> dict:
    return {"headers": {"HX-Request": "true", "HX-Target": target}}


def _machine_post(kind, **overrides) -> dict:
    """The machine form with every field filled."""
    data = {
        "name": "Roller R-7",
        "machine_type": kind.pk,
        "manufacturer": "Schuler",
        "line": "Line 2",
        "location": "Hall 3, bay 4",
        "importance": "high",
        "capacity_per_hour": "120",
        "ideal_cycle_seconds": "2.5",
        "pos_x": "12.5",
        "pos_y": "-3",
        "pos_z": "1.25",
        "video_feed_url": "https://cams.example.com/roller-7",
        "hf_endpoint": "https://api-inference.huggingface.co/models/acme/roller",
        "hf_key": HF_KEY,
    }
    data.update(overrides)
    return data


# Fixtures


@pytest.fixture
def kind(maria):
    return services.create_machine_type(actor=maria, name="Press", description="Stamps sheet metal.")


@pytest.fixture
def press(maria, kind):
    return services.create_machine(
        actor=maria, machine_type=kind, name="Press P-300", line="Line 1", pos_x=0, pos_y=0, hf_key=HF_KEY
    )


@pytest.fixture
def mill(maria, kind):
    return services.create_machine(actor=maria, machine_type=kind, name="Mill M-2", line="Line 1", pos_x=20, pos_y=0)


@pytest.fixture
def acme_floor(maria, bob, carol, kind, press, mill):
    """Everything of Acme a URL can name: a fault with a photo and a note with a photo, a warning, a flow,
    an integration token and a spare machine type."""
    fault = services.report_fault(
        machine=press, reporter=carol, description="Oil leak", severity="high", photos=[_png()]
    )
    note = services.add_fault_note(fault=fault, author=bob, body="Seal worn", photos=[_jpeg()])
    warning = services.add_warning(machine=mill, actor=carol, message="Coolant low")
    edge = services.create_edge(actor=maria, source=press, target=mill, flow_type="blanks")
    token, _raw = services.create_integration_token(actor=maria, name="Acme vibration sensor")
    spare = services.create_machine_type(actor=maria, name="Spare type")
    return SimpleNamespace(
        kind=kind,
        spare=spare,
        press=press,
        mill=mill,
        fault=fault,
        report_photo=fault.photos.get(note=None),
        note_photo=note.photos.get(),
        warning=warning,
        edge=edge,
        token=token,
    )


def _pages(floor) -> dict[str, str]:
    """Every page (GET) of the machines app."""
    return {
        "list": reverse("machines:list"),
        "map": reverse("machines:map"),
        "create": reverse("machines:create"),
        "detail": reverse("machines:detail", args=[floor.press.pk]),
        "edit": reverse("machines:edit", args=[floor.press.pk]),
        "report-fault": reverse("machines:report-fault", args=[floor.press.pk]),
        "photo": reverse("machines:photo", args=[floor.report_photo.pk]),
        "photo-thumbnail": reverse("machines:photo-thumbnail", args=[floor.report_photo.pk]),
        "note-photo": reverse("machines:photo", args=[floor.note_photo.pk]),
        "types": reverse("machines:types"),
        "edit-type": reverse("machines:edit-type", args=[floor.spare.pk]),
        "tokens": reverse("machines:tokens"),
    }


def _acme_pages(floor) -> dict[str, str]:
    """The pages that name one thing of Acme in their URL."""
    names = ("detail", "edit", "report-fault", "photo", "photo-thumbnail", "note-photo", "edit-type")
    return {name: url for name, url in _pages(floor).items() if name in names}


def _posts(floor) -> dict[str, tuple[str, dict]]:
    """Every form post of the machines app, with data it would accept."""
    press, mill = floor.press, floor.mill
    return {
        "create": (reverse("machines:create"), _machine_post(floor.kind, name="Intruder")),
        "edit": (reverse("machines:edit", args=[press.pk]), _machine_post(floor.kind, name="Renamed")),
        "delete": (reverse("machines:delete", args=[press.pk]), {}),
        "report-fault": (
            reverse("machines:report-fault", args=[press.pk]),
            {"description": "Smoke", "severity": "low"},
        ),
        "add-warning": (reverse("machines:add-warning", args=[press.pk]), {"message": "Noisy"}),
        "clear-warning": (reverse("machines:clear-warning", args=[mill.pk, floor.warning.pk]), {}),
        "add-edge": (reverse("machines:add-edge", args=[mill.pk]), {"target": press.pk, "flow_type": "parts"}),
        "delete-edge": (reverse("machines:delete-edge", args=[floor.edge.pk]), {"machine": press.pk}),
        "fault-note": (reverse("machines:fault-note", args=[floor.fault.pk]), {"body": "Looked at it"}),
        "resolve-fault": (reverse("machines:resolve-fault", args=[floor.fault.pk]), {"resolution": "New seal"}),
        "types": (reverse("machines:types"), {"name": "Robot", "description": "", "model": ""}),
        "edit-type": (reverse("machines:edit-type", args=[floor.spare.pk]), {"name": "Renamed", "model": ""}),
        "delete-type": (reverse("machines:delete-type", args=[floor.spare.pk]), {}),
        "tokens": (reverse("machines:tokens"), {"name": "Sensor"}),
        "revoke-token": (reverse("machines:revoke-token", args=[floor.token.pk]), {}),
    }


MANAGER_ONLY_PAGES = ("create", "edit", "edit-type", "tokens")
MANAGER_ONLY_POSTS = (
    "create",
    "edit",
    "delete",
    "add-edge",
    "delete-edge",
    "types",
    "edit-type",
    "delete-type",
    "tokens",
    "revoke-token",
)
REPAIR_POSTS = ("clear-warning", "fault-note", "resolve-fault")


# The organization boundary


def test_it_answers_404_to_another_organization_for_everything_of_acme(client_for, mallory, acme_floor):
    client = client_for(mallory)
    before = _snapshot()
    for name, url in _acme_pages(acme_floor).items():
        assert client.get(url).status_code == 404, name
    for name, (url, data) in _posts(acme_floor).items():
        if name in ("create", "types", "tokens"):
            continue  # Not of Acme: these make things in mallory's own organization.
        assert client.post(url, data).status_code == 404, name
    # A token for one of Acme's machines is refused as an unknown choice, not made.
    response = client.post(reverse("machines:tokens"), {"name": "Spy", "machine": acme_floor.press.pk})
    assert response.status_code == 400 and not IntegrationToken.objects.filter(name="Spy").exists()
    # A machine of one of Acme's types is refused the same way.
    response = client.post(reverse("machines:create"), _machine_post(acme_floor.kind, name="Spy machine"))
    assert "machine_type" in response.context["form"].errors
    assert _snapshot() == before


def test_it_shows_another_organization_none_of_acme_on_its_own_pages(client_for, mallory, acme_floor):
    client = client_for(mallory)
    for name in ("list", "map", "types", "tokens", "create"):
        page = client.get(_pages(acme_floor)[name])
        assert page.status_code == 200, name
        content = page.content.decode()
        for secret in ("Press P-300", "Mill M-2", "Oil leak", "Spare type", "Acme vibration sensor"):
            assert secret not in content, (name, secret)


def test_it_sends_anonymous_people_to_log_in(client, acme_floor):
    login = reverse("account_login")
    before = _snapshot()
    for name, url in _pages(acme_floor).items():
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(f"{login}?next="), name
    for name, (url, data) in _posts(acme_floor).items():
        response = client.post(url, data)
        assert response.status_code == 302 and response.url.startswith(f"{login}?next="), name
    assert _snapshot() == before


# Role limits


def test_it_shows_staff_the_floor_and_lets_them_report(client_for, carol, acme_floor):
    client = client_for(carol)
    for name in ("list", "map", "detail", "report-fault", "types", "photo", "photo-thumbnail", "note-photo"):
        assert client.get(_pages(acme_floor)[name]).status_code == 200, name
    page = client.get(_pages(acme_floor)["detail"]).content.decode()
    assert 'data-testid="report-fault"' in page and 'data-testid="warning-form"' in page
    # No repair, claim or manager controls for staff.
    assert f'data-testid="note-form-{acme_floor.fault.pk}"' not in page
    assert f'data-testid="resolve-form-{acme_floor.fault.pk}"' not in page
    assert 'data-testid="edge-form"' not in page and reverse("machines:edit", args=[acme_floor.press.pk]) not in page
    assert "New machine type" not in client.get(_pages(acme_floor)["types"]).content.decode()


def test_it_refuses_staff_the_repairs(client_for, carol, acme_floor):
    client = client_for(carol)
    before = _snapshot()
    for name in REPAIR_POSTS:
        url, data = _posts(acme_floor)[name]
        assert client.post(url, data).status_code == 403, name
    assert _snapshot() == before


@pytest.mark.parametrize("persona", ["carol", "bob"])
def test_it_refuses_staff_and_technicians_the_managing_pages(request, client_for, acme_floor, persona):
    client = client_for(request.getfixturevalue(persona))
    before = _snapshot()
    for name in MANAGER_ONLY_PAGES:
        assert client.get(_pages(acme_floor)[name]).status_code == 403, name
    for name in MANAGER_ONLY_POSTS:
        url, data = _posts(acme_floor)[name]
        assert client.post(url, data).status_code == 403, name
    assert _snapshot() == before


def test_it_shows_a_technician_the_repair_forms_but_not_the_managing_ones(client_for, bob, acme_floor):
    page = client_for(bob).get(_pages(acme_floor)["detail"]).content.decode()
    assert f'data-testid="note-form-{acme_floor.fault.pk}"' in page
    assert f'data-testid="resolve-form-{acme_floor.fault.pk}"' in page
    assert f'data-testid="claim-{acme_floor.fault.incident.activity_id}"' in page
    assert 'data-testid="edge-form"' not in page and reverse("machines:edit", args=[acme_floor.press.pk]) not in page


@pytest.mark.parametrize("persona", ["maria", "alice"])
def test_it_opens_every_page_to_managers_and_admins(request, client_for, acme_floor, persona):
    client = client_for(request.getfixturevalue(persona))
    for name, url in _pages(acme_floor).items():
        assert client.get(url).status_code == 200, name
    page = client.get(_pages(acme_floor)["detail"]).content.decode()
    assert 'data-testid="edge-form"' in page and reverse("machines:edit", args=[acme_floor.press.pk]) in page


@pytest.mark.parametrize("name", MANAGER_ONLY_POSTS + REPAIR_POSTS + ("report-fault", "add-warning"))
def test_it_lets_a_manager_post_every_form(client_for, maria, acme_floor, name):
    url, data = _posts(acme_floor)[name]
    before = _snapshot()
    response = client_for(maria).post(url, data)
    assert response.status_code == 302, response.content[:500]
    levels = [message.level_tag for message in get_messages(response.wsgi_request)]
    assert levels == ([] if name == "tokens" else ["success"])  # A new token is shown on the next page instead.
    assert _snapshot() != before  # What each one changes is checked flow by flow below.


# Faults: report, notes, resolve


def test_it_reports_a_fault_with_two_photos(
    client_for, carol, bob, press, broadcasts, django_capture_on_commit_callbacks
):
    url = reverse("machines:report-fault", args=[press.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(carol).post(
            url, {"description": "Hydraulic leak\nunder the ram", "severity": "high", "photos": [_png(), _jpeg()]}
        )
    assert response.status_code == 302 and response.url == reverse("machines:detail", args=[press.pk])
    assert _flash(response) == "The fault on Press P-300 was reported; technicians were told."
    fault = FaultCase.objects.get()
    assert (fault.machine, fault.state, fault.severity, fault.reported_by) == (press, "open", "high", carol)
    assert fault.description == "Hydraulic leak\nunder the ram"
    photos = list(fault.photos.order_by("pk"))
    assert [(photo.filename, photo.note, photo.uploaded_by) for photo in photos] == [
        ("leak.png", None, carol),
        ("crack.jpg", None, carol),
    ]
    for photo in photos:
        assert photo.image.storage.exists(photo.image.name) and photo.thumbnail.storage.exists(photo.thumbnail.name)
        assert max(open_stored(photo.thumbnail).size) <= services.THUMBNAIL_SIZE
    assert open_stored(photos[0].image).format == "PNG" and open_stored(photos[1].image).format == "JPEG"
    assert len(_media_files()) == 4
    press.refresh_from_db()
    assert press.status == "fault"
    incident = Incident.objects.get()
    assert (incident.machine, incident.state, incident.kind, incident.title) == (
        press,
        "open",
        "fault",
        "Hydraulic leak",
    )
    assert fault.incident == incident and incident.activity.type == ActivityType.MAINTENANCE
    frames = [json.loads(event["text"]) for _group, event in broadcasts if event["type"] == "hub.text"]
    assert {"type": "machines.status", "machine": press.pk, "status": "fault", "label": "Fault"} in frames
    page = client_for(bob).get(response.url).content.decode()
    assert page.count('data-testid="fault-photo"') == 2 and "Hydraulic leak" in page


def test_it_adds_a_note_of_photos_alone_then_resolves_the_fault(client_for, carol, bob, press):
    fault = services.report_fault(machine=press, reporter=carol, description="Jammed", severity="medium")
    client = client_for(bob)
    response = client.post(reverse("machines:fault-note", args=[fault.pk]), {"body": "", "photos": [_jpeg("seal.jpg")]})
    assert response.status_code == 302
    assert response.url == reverse("machines:detail", args=[press.pk]) + f"#fault-{fault.pk}"
    note = FaultNote.objects.get()
    assert (note.fault, note.author, note.body) == (fault, bob, "")
    assert [(photo.note, photo.filename, photo.uploaded_by) for photo in fault.photos.all()] == [
        (note, "seal.jpg", bob)
    ]
    page = client.get(reverse("machines:detail", args=[press.pk])).content.decode()
    assert page.count('data-testid="fault-note"') == 1 and page.count('data-testid="fault-photo"') == 1

    response = client.post(reverse("machines:resolve-fault", args=[fault.pk]), {"resolution": "Cleared the jam"})
    assert response.status_code == 302 and _flash(response) == "The fault was resolved."
    fault.refresh_from_db()
    assert (fault.state, fault.resolved_by, fault.resolution) == ("resolved", bob, "Cleared the jam")
    press.refresh_from_db()
    assert press.status == "ok"
    incident = fault.incident
    incident.refresh_from_db()
    assert incident.state == "closed" and incident.activity.status in CLOSED_STATUSES
    again = client.post(reverse("machines:resolve-fault", args=[fault.pk]), {"resolution": "Twice"})
    assert again.status_code == 400 and _flash(again) == "The fault is already resolved."
    fault.refresh_from_db()
    assert fault.resolution == "Cleared the jam"


def test_it_refuses_an_empty_note_a_bad_photo_and_an_empty_resolution_with_a_flash(client_for, carol, bob, press):
    fault = services.report_fault(machine=press, reporter=carol, description="Jammed", severity="medium")
    client = client_for(bob)
    before = _snapshot()
    empty_note = client.post(reverse("machines:fault-note", args=[fault.pk]), {"body": "  "})
    assert empty_note.status_code == 400 and _flash(empty_note) == "Note: Write something first."
    bad_photo = client.post(
        reverse("machines:fault-note", args=[fault.pk]),
        {"body": "See photo", "photos": [SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")]},
    )
    assert bad_photo.status_code == 400
    assert _flash(bad_photo) == "Photos: x.jpg: The file is not a readable image. Choose the photos again."
    # What was typed is still in the form, under the fault it was for.
    assert 'name="body" rows="2" maxlength="5000">See photo</textarea>' in bad_photo.content.decode()
    no_resolution = client.post(reverse("machines:resolve-fault", args=[fault.pk]), {"resolution": ""})
    assert no_resolution.status_code == 400 and _flash(no_resolution).startswith("Resolution:")
    assert _snapshot() == before


# Warnings


def test_staff_add_a_warning_and_a_technician_clears_it(client_for, carol, bob, press):
    response = client_for(carol).post(reverse("machines:add-warning", args=[press.pk]), {"message": "Oil low"})
    assert response.status_code == 302 and _flash(response) == "The warning was added."
    warning = MachineWarning.objects.get()
    assert (warning.machine, warning.message, warning.created_by, warning.cleared_at) == (press, "Oil low", carol, None)
    press.refresh_from_db()
    assert press.status == "warning"
    incident = Incident.objects.get(machine=press, state="open")
    assert incident.kind == "warning" and incident.severity == "low"

    url = reverse("machines:clear-warning", args=[press.pk, warning.pk])
    response = client_for(bob).post(url)
    assert response.status_code == 302 and _flash(response) == "“Oil low” was cleared."
    warning.refresh_from_db()
    assert warning.cleared_by == bob and warning.cleared_at is not None
    press.refresh_from_db()
    incident.refresh_from_db()
    assert press.status == "ok" and incident.state == "closed"


def test_it_refuses_an_empty_warning_and_a_warning_of_another_machine(client_for, carol, bob, press, mill):
    before = _snapshot()
    response = client_for(carol).post(reverse("machines:add-warning", args=[press.pk]), {"message": ""})
    assert response.status_code == 400 and _flash(response).endswith("Write the warning (at most 300 characters).")
    assert _snapshot() == before
    warning = services.add_warning(machine=mill, actor=carol, message="Coolant low")
    # The warning's id under another machine's URL is not found.
    assert client_for(bob).post(reverse("machines:clear-warning", args=[press.pk, warning.pk])).status_code == 404
    warning.refresh_from_db()
    assert warning.cleared_at is None


# Bad fault reports


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"description": "", "severity": "high"}, "description"),
        ({"description": "   ", "severity": "high"}, "description"),
        ({"description": "Leak", "severity": "apocalyptic"}, "severity"),
        ({"description": "Leak"}, "severity"),
    ],
)
def test_it_refuses_a_fault_report_without_a_description_or_with_an_unknown_severity(
    client_for, carol, press, data, field
):
    response = client_for(carol).post(reverse("machines:report-fault", args=[press.pk]), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    _assert_nothing_reported(press)


def _assert_nothing_reported(machine):
    assert not FaultCase.objects.exists() and not FaultPhoto.objects.exists() and not Incident.objects.exists()
    assert _media_files() == []
    machine.refresh_from_db()
    assert machine.status == "ok"


def test_it_refuses_a_fault_report_with_a_file_that_is_not_an_image(client_for, carol, press):
    photos = [_png(), SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")]
    response = client_for(carol).post(
        reverse("machines:report-fault", args=[press.pk]), {"description": "Leak", "severity": "high", "photos": photos}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == ["x.jpg: The file is not a readable image."]
    assert "x.jpg: The file is not a readable image." in response.content.decode()
    _assert_nothing_reported(press)


def test_it_refuses_a_fault_report_with_too_many_photos(client_for, carol, press):
    photos = [_png(f"p{n}.png", size=(8, 8)) for n in range(settings.MACHINES_MAX_PHOTOS + 1)]
    response = client_for(carol).post(
        reverse("machines:report-fault", args=[press.pk]), {"description": "Leak", "severity": "high", "photos": photos}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["photos"] == [f"At most {settings.MACHINES_MAX_PHOTOS} photos at a time."]
    _assert_nothing_reported(press)


def test_it_takes_as_many_photos_as_allowed(client_for, carol, press):
    photos = [_png(f"p{n}.png", size=(8, 8)) for n in range(settings.MACHINES_MAX_PHOTOS)]
    response = client_for(carol).post(
        reverse("machines:report-fault", args=[press.pk]), {"description": "Leak", "severity": "high", "photos": photos}
    )
    assert response.status_code == 302
    assert FaultPhoto.objects.count() == settings.MACHINES_MAX_PHOTOS


def test_it_strips_the_metadata_of_an_uploaded_photo(client_for, carol, press):
    original = jpeg_with_exif()
    assert dict(Image.open(io.BytesIO(original)).getexif())  # The upload does carry EXIF.
    upload = SimpleUploadedFile("camera.jpg", original, content_type="image/jpeg")
    response = client_for(carol).post(
        reverse("machines:report-fault", args=[press.pk]),
        {"description": "Crack", "severity": "low", "photos": [upload]},
    )
    assert response.status_code == 302
    photo = FaultPhoto.objects.get()
    for field in (photo.image, photo.thumbnail):
        stored = open_stored(field)
        assert stored.format == "JPEG" and dict(stored.getexif()) == {}
        with field.open("rb") as handle:
            assert b"SpyCam" not in handle.read()


# Photos are served to the organization


def test_it_serves_photos_and_thumbnails_to_members_only(client_for, carol, bob, mallory, acme_floor):
    pages = _pages(acme_floor)
    for user in (carol, bob):
        client = client_for(user)
        full, thumbnail, note_photo = (client.get(pages[name]) for name in ("photo", "photo-thumbnail", "note-photo"))
        assert full.status_code == thumbnail.status_code == note_photo.status_code == 200
        assert full["Content-Type"] == "image/png" and full["Content-Disposition"].startswith("inline")
        assert thumbnail["Content-Type"] == "image/jpeg" and note_photo["Content-Type"] == "image/jpeg"
        assert Image.open(io.BytesIO(b"".join(full.streaming_content))).format == "PNG"
        assert Image.open(io.BytesIO(b"".join(thumbnail.streaming_content))).format == "JPEG"
    outsider = client_for(mallory)
    for name in ("photo", "photo-thumbnail", "note-photo"):
        assert outsider.get(pages[name]).status_code == 404, name
    assert outsider.get(reverse("machines:photo", args=[999_999])).status_code == 404


# Machine types


def test_a_manager_adds_a_type_from_sketchfabs_embed_code_and_the_machine_page_shows_its_model(
    client_for, maria, carol
):
    client = client_for(maria)
    response = client.post(
        reverse("machines:types"), {"name": "Roller", "description": "Straightens strip", "model": ROLLER_EMBED}
    )
    assert response.status_code == 302 and response.url == reverse("machines:types")
    kind = MachineType.objects.get()
    assert (kind.name, kind.description, kind.model_id) == ("Roller", "Straightens strip", ROLLER_MODEL_ID)
    machine = services.create_machine(actor=maria, machine_type=kind, name="Roller R-1")
    page = client_for(carol).get(reverse("machines:detail", args=[machine.pk])).content.decode()
    assert f'src="https://sketchfab.com/models/{ROLLER_MODEL_ID}/embed"' in page
    assert "sketchfab-embed-wrapper" not in page  # The pasted HTML itself is never shown.
    listing = client.get(reverse("machines:types")).content.decode()
    assert f"https://sketchfab.com/models/{ROLLER_MODEL_ID}" in listing


@pytest.mark.parametrize(
    "model",
    [
        "<script>alert(1)</script>",
        f'<iframe src="https://sketchfab.com/models/{ROLLER_MODEL_ID}/embed"></iframe><script>alert(1)</script>',
        f'<iframe src="https://evil.example/models/{ROLLER_MODEL_ID}/embed"></iframe>',
        f"https://evil.example/models/{ROLLER_MODEL_ID}",
    ],
)
def test_it_refuses_a_type_with_a_script_or_another_host(client_for, maria, model):
    response = client_for(maria).post(reverse("machines:types"), {"name": "Roller", "model": model})
    assert response.status_code == 400
    assert response.context["form"].errors["model"]
    assert not MachineType.objects.exists()


def test_a_manager_edits_a_type_and_a_bad_model_is_shown_on_the_edit_page(client_for, maria, kind):
    client = client_for(maria)
    url = reverse("machines:edit-type", args=[kind.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"name": "Roller", "description": "New", "model": f"https://sketchfab.com/models/{ROLLER_MODEL_ID}"}
    )
    assert response.status_code == 302 and response.url == reverse("machines:types")
    kind.refresh_from_db()
    assert (kind.name, kind.description, kind.model_id) == ("Roller", "New", ROLLER_MODEL_ID)
    # The edit form shows the stored model as a link.
    assert f"https://sketchfab.com/models/{ROLLER_MODEL_ID}" in client.get(url).content.decode()

    refused = client.post(url, {"name": "Hacked", "model": '<iframe src="https://evil.example/x"></iframe>'})
    assert refused.status_code == 400  # The form comes back with its errors.
    assert refused.context["form"].errors["model"]
    assert "Only sketchfab.com models can be shown" in refused.content.decode()
    assert "Edit “Roller”" in refused.content.decode()  # The heading names the stored type, not the posted name.
    kind.refresh_from_db()
    assert (kind.name, kind.model_id) == ("Roller", ROLLER_MODEL_ID)


def test_it_refuses_a_duplicate_type_name(client_for, maria, kind):
    response = client_for(maria).post(reverse("machines:types"), {"name": "PRESS"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"] == ["A machine type of that name exists already."]
    assert MachineType.objects.count() == 1


def test_a_type_with_machines_is_kept_and_an_unused_one_is_deleted(client_for, maria, kind, press):
    client = client_for(maria)
    response = client.post(reverse("machines:delete-type", args=[kind.pk]))
    assert response.status_code == 302
    assert _flash(response) == "Machines of the type “Press” exist; delete or change them first."
    assert MachineType.objects.filter(pk=kind.pk).exists()
    spare = services.create_machine_type(actor=maria, name="Spare")
    response = client.post(reverse("machines:delete-type", args=[spare.pk]))
    assert _flash(response) == "The machine type “Spare” was deleted."
    assert list(MachineType.objects.all()) == [kind]


# Machines


def test_a_manager_creates_a_machine_with_every_field(client_for, maria, kind):
    client = client_for(maria)
    page = client.get(reverse("machines:create")).content.decode()
    assert 'name="hf_key"' in page and 'name="remove_hf_key"' not in page
    response = client.post(reverse("machines:create"), _machine_post(kind))
    machine = Machine.objects.get()
    assert response.status_code == 302 and response.url == reverse("machines:detail", args=[machine.pk])
    assert _flash(response) == "Roller R-7 was added."
    stored = Machine.objects.filter(pk=machine.pk).values(
        "organization", "name", "machine_type", "manufacturer", "line", "location", "importance",
        "capacity_per_hour", "ideal_cycle_seconds", "pos_x", "pos_y", "pos_z", "video_feed_url", "hf_endpoint",
        "hf_key", "status",
    ).get()  # fmt: skip
    assert stored == {
        "organization": maria.organization_id,
        "name": "Roller R-7",
        "machine_type": kind.pk,
        "manufacturer": "Schuler",
        "line": "Line 2",
        "location": "Hall 3, bay 4",
        "importance": "high",
        "capacity_per_hour": 120,
        "ideal_cycle_seconds": 2.5,
        "pos_x": 12.5,
        "pos_y": -3.0,
        "pos_z": 1.25,
        "video_feed_url": "https://cams.example.com/roller-7",
        "hf_endpoint": "https://api-inference.huggingface.co/models/acme/roller",
        "hf_key": HF_KEY,
        "status": "ok",
    }


def test_it_refuses_a_machine_without_a_name_or_with_a_bad_url_and_saves_nothing(client_for, maria, kind, press):
    client = client_for(maria)
    before = _snapshot()
    cases = [
        ({"name": ""}, "name"),
        ({"video_feed_url": "javascript:alert(1)"}, "video_feed_url"),
        ({"ideal_cycle_seconds": "0"}, "ideal_cycle_seconds"),
        ({"name": "press p-300"}, "name"),  # Names are unique ignoring case.
        ({"machine_type": "999999"}, "machine_type"),
    ]
    for overrides, field in cases:
        response = client.post(reverse("machines:create"), _machine_post(kind, **overrides))
        assert response.status_code == 400, overrides  # The form comes back with its errors.
        assert field in response.context["form"].errors, overrides
        assert HF_KEY not in response.content.decode()  # Not even the key just posted is sent back.
    assert _snapshot() == before


def test_it_never_shows_the_hf_key(client_for, maria, bob, carol, acme_floor):
    press = acme_floor.press
    for user in (maria, bob, carol):
        client = client_for(user)
        for name in ("list", "map", "detail", "types", "report-fault"):
            assert HF_KEY not in client.get(_pages(acme_floor)[name]).content.decode(), (user, name)
    client = client_for(maria)
    detail = client.get(reverse("machines:detail", args=[press.pk])).content.decode()
    edit = client.get(reverse("machines:edit", args=[press.pk])).content.decode()
    tokens = client.get(reverse("machines:tokens")).content.decode()
    assert HF_KEY not in detail and HF_KEY not in edit and HF_KEY not in tokens
    assert "A key is stored. Leave empty to keep it; it is never shown." in edit and 'name="remove_hf_key"' in edit
    # A refused edit does not send back the key it was sent either.
    refused = client.post(
        reverse("machines:edit", args=[press.pk]), _machine_post(acme_floor.kind, name="", hf_key="hf_NewKey_zz9")
    )
    assert refused.status_code == 400 and "hf_NewKey_zz9" not in refused.content.decode()
    assert HF_KEY not in refused.content.decode()
    press.refresh_from_db()
    assert press.hf_key == HF_KEY


def test_a_manager_edits_every_field_and_an_empty_key_keeps_the_stored_one(client_for, maria, press):
    other_kind = services.create_machine_type(actor=maria, name="Roller")
    client = client_for(maria)
    url = reverse("machines:edit", args=[press.pk])
    data = _machine_post(
        other_kind,
        name="Press P-400",
        manufacturer="Aida",
        line="Line 3",
        location="Hall 1",
        importance="critical",
        capacity_per_hour="80",
        ideal_cycle_seconds="4",
        pos_x="1",
        pos_y="2",
        pos_z="3",
        video_feed_url="https://cams.example.com/p400",
        hf_endpoint="https://hf.example.com/p400",
        hf_key="",
    )
    response = client.post(url, data)
    assert response.status_code == 302 and response.url == reverse("machines:detail", args=[press.pk])
    assert _flash(response) == "The machine was saved."
    press.refresh_from_db()
    assert (press.name, press.machine_type, press.manufacturer, press.line, press.location) == (
        "Press P-400",
        other_kind,
        "Aida",
        "Line 3",
        "Hall 1",
    )
    assert (press.importance, press.capacity_per_hour, press.ideal_cycle_seconds) == ("critical", 80, 4.0)
    assert (press.pos_x, press.pos_y, press.pos_z) == (1.0, 2.0, 3.0)
    assert (press.video_feed_url, press.hf_endpoint) == ("https://cams.example.com/p400", "https://hf.example.com/p400")
    assert press.hf_key == HF_KEY

    client.post(url, {**data, "hf_key": "hf_Replaced_123"})
    press.refresh_from_db()
    assert press.hf_key == "hf_Replaced_123"
    client.post(url, {**data, "hf_key": "", "remove_hf_key": "on"})
    press.refresh_from_db()
    assert press.hf_key == ""
    assert 'name="remove_hf_key"' not in client.get(url).content.decode()


def test_it_refuses_to_rename_a_machine_to_a_name_in_use(client_for, maria, kind, press, mill):
    before = _snapshot()
    response = client_for(maria).post(
        reverse("machines:edit", args=[press.pk]), _machine_post(kind, name="MILL m-2", hf_key="")
    )
    assert response.status_code == 400  # The form comes back with its errors.
    assert response.context["form"].errors["name"] == ["A machine of that name exists already."]
    assert "Edit Press P-300" in response.content.decode()  # The stored machine, not the posted values.
    assert _snapshot() == before


def test_a_manager_deletes_a_machine_with_its_faults_and_flows(client_for, maria, carol, press, mill):
    services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    services.create_edge(actor=maria, source=press, target=mill)
    response = client_for(maria).post(reverse("machines:delete", args=[press.pk]))
    assert response.status_code == 302 and response.url == reverse("machines:list")
    assert _flash(response) == "Press P-300 was deleted with its faults, warnings and history."
    assert list(Machine.objects.all()) == [mill]
    assert not FaultCase.objects.exists() and not MachineEdge.objects.exists() and not Incident.objects.exists()
    assert client_for(maria).get(reverse("machines:detail", args=[press.pk])).status_code == 404


# Flows


def test_a_manager_adds_a_flow_and_removes_it(client_for, maria, carol, press, mill):
    client = client_for(maria)
    response = client.post(reverse("machines:add-edge", args=[press.pk]), {"target": mill.pk, "flow_type": "blanks"})
    assert response.status_code == 302
    assert response.url == reverse("machines:detail", args=[press.pk]) + "#flows"
    assert _flash(response) == "Press P-300 now feeds Mill M-2."
    edge = MachineEdge.objects.get()
    assert (edge.source, edge.target, edge.flow_type, edge.organization_id) == (
        press,
        mill,
        "blanks",
        press.organization_id,
    )
    assert "Mill M-2" in client_for(carol).get(reverse("machines:detail", args=[press.pk])).content.decode()

    # Removed from the target's page, the answer goes back to the target.
    response = client.post(reverse("machines:delete-edge", args=[edge.pk]), {"machine": mill.pk})
    assert response.status_code == 302 and response.url == reverse("machines:detail", args=[mill.pk]) + "#flows"
    assert _flash(response) == "The flow from Press P-300 to Mill M-2 was removed."
    assert not MachineEdge.objects.exists()


def test_it_refuses_a_self_loop_a_duplicate_and_a_foreign_flow_with_a_flash(client_for, maria, mallory, press, mill):
    services.create_edge(actor=maria, source=press, target=mill)
    foreign_kind = services.create_machine_type(actor=mallory, name="Press")
    foreign = services.create_machine(actor=mallory, machine_type=foreign_kind, name="Globex press")
    client = client_for(maria)
    url = reverse("machines:add-edge", args=[press.pk])
    before = _snapshot()
    for target in (press, foreign):
        response = client.post(url, {"target": target.pk})
        assert response.status_code == 400
        assert _flash(response) == "Choose another machine of your organization."
    duplicate = client.post(url, {"target": mill.pk})
    assert duplicate.status_code == 400 and _flash(duplicate) == "Feeds into: That flow exists already."
    assert _snapshot() == before
    assert MachineEdge.objects.count() == 1


# Integration tokens


def test_a_manager_creates_a_token_shown_once_and_revokes_it(client_for, maria, press):
    client = client_for(maria)
    response = client.post(reverse("machines:tokens"), {"name": "SCADA line 1", "machine": press.pk}, follow=True)
    assert response.redirect_chain == [(reverse("machines:tokens"), 302)]
    token = IntegrationToken.objects.get()
    page = response.content.decode()
    start = page.index('data-testid="new-token">') + len('data-testid="new-token">')
    raw = page[start : page.index("<", start)].strip()
    assert raw.startswith("nxm_") and len(raw) > 30
    assert (token.name, token.machine, token.created_by) == ("SCADA line 1", press, maria)
    assert token.token_hash == hash_secret(raw)
    assert raw not in json.dumps(list(IntegrationToken.objects.values()), default=str)
    assert raw.startswith(token.hint) and f"{token.hint}…" in page
    assert services.authenticate_integration_token(raw) == token

    second = client.get(reverse("machines:tokens")).content.decode()
    assert raw not in second and 'data-testid="new-token"' not in second

    response = client.post(reverse("machines:revoke-token", args=[token.pk]))
    assert response.status_code == 302 and response.url == reverse("machines:tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert services.authenticate_integration_token(raw) is None
    assert "pill-revoked" in client.get(reverse("machines:tokens")).content.decode()


def test_it_refuses_a_token_without_a_name(client_for, maria):
    response = client_for(maria).post(reverse("machines:tokens"), {"name": ""})
    assert response.status_code == 400 and "name" in response.context["form"].errors
    assert not IntegrationToken.objects.exists()


# Query counts


def _floor_of(maria, carol, kinds, count: int, start: int = 0) -> list[Machine]:
    """`count` machines in a row with flows between them, and on every other one a fault and a warning."""
    machines = []
    for n in range(start, start + count):
        machine = services.create_machine(
            actor=maria,
            machine_type=kinds[n % len(kinds)],
            name=f"Machine {n:02}",
            line=f"Line {n % 3}",
            pos_x=n * 10,
            pos_y=(n % 3) * 10,
        )
        if n % 2 == 0:
            services.report_fault(machine=machine, reporter=carol, description=f"Fault {n}", severity="high")
            services.add_warning(machine=machine, actor=carol, message=f"Warning {n}")
        machines.append(machine)
    previous = Machine.objects.filter(name=f"Machine {start - 1:02}").first()
    for source, target in zip([previous, *machines], machines, strict=False):
        if source is not None:
            services.create_edge(actor=maria, source=source, target=target, flow_type="parts")
    return machines


@pytest.fixture
def kinds(maria):
    return [services.create_machine_type(actor=maria, name=f"Type {n}") for n in range(3)]


@pytest.mark.parametrize(
    ("url_name", "drawn"),
    [
        ("machines:list", {'data-testid="machine-card"': (3, 12)}),
        ("machines:map", {'class="map-node"': (3, 12), '<line class="flow"': (2, 11)}),
    ],
)
def test_the_grid_and_the_map_run_a_constant_number_of_queries(client_for, maria, bob, carol, kinds, url_name, drawn):
    """Bob (a technician) sees claim buttons on the map's incidents too; every machine, flow and incident shows."""
    client = client_for(bob)
    url = reverse(url_name)
    _floor_of(maria, carol, kinds, 3)
    client.get(url)  # Warm the session.
    few = _queries(client, url)
    page = client.get(url).content.decode()
    assert {item: page.count(item) for item in drawn} == {item: counts[0] for item, counts in drawn.items()}
    _floor_of(maria, carol, kinds, 9, start=3)
    assert MachineEdge.objects.count() == 11 and Incident.objects.filter(state="open").count() == 12
    many = _queries(client, url)
    page = client.get(url).content.decode()
    assert {item: page.count(item) for item in drawn} == {item: counts[1] for item, counts in drawn.items()}
    assert many == few


def _troubled_machine(maria, bob, carol, kind, name: str, faults: int) -> Machine:
    """A machine with `faults` open faults and as many repairs, each with a photo and a note with a photo."""
    machine = services.create_machine(actor=maria, machine_type=kind, name=name)
    reported = []
    for n in range(2 * faults):
        fault = services.report_fault(
            machine=machine, reporter=carol, description=f"Fault {n}", severity="medium", photos=[_png(size=(8, 8))]
        )
        services.add_fault_note(fault=fault, author=bob, body=f"Note {n}", photos=[_jpeg(size=(8, 8))])
        reported.append(fault)
    for fault in reported[:faults]:
        services.resolve_fault(fault=fault, actor=bob, resolution="Fixed")
    services.add_warning(machine=machine, actor=carol, message="Watch it")
    return machine


def test_a_machine_page_runs_a_constant_number_of_queries(client_for, maria, bob, carol, kind, mill):
    one = _troubled_machine(maria, bob, carol, kind, "One", 1)
    five = _troubled_machine(maria, bob, carol, kind, "Five", 5)
    for machine in (one, five):
        services.create_edge(actor=maria, source=mill, target=machine)
        services.create_edge(actor=maria, source=machine, target=mill)
    client = client_for(bob)
    client.get(reverse("machines:detail", args=[one.pk]))  # Warm the session.
    few = _queries(client, reverse("machines:detail", args=[one.pk]))
    many = _queries(client, reverse("machines:detail", args=[five.pk]))
    page = client.get(reverse("machines:detail", args=[five.pk])).content.decode()
    assert page.count('data-testid="fault"') == 10 and page.count('data-testid="fault-photo"') == 20
    assert page.count('data-testid="fault-note"') == 10
    assert many == few


# htmx refreshes one part


def test_htmx_gets_only_the_grid(client_for, carol, acme_floor):
    client = client_for(carol)
    part = client.get(reverse("machines:list"), **_htmx("machine-grid"))
    content = part.content.decode()
    assert part.status_code == 200 and "<html" not in content
    assert content.lstrip().startswith('<div id="machine-grid"') and "Press P-300" in content
    assert "<html" in client.get(reverse("machines:list")).content.decode()
    # Another target is not a part of this page: the whole page.
    assert "<html" in client.get(reverse("machines:list"), **_htmx("something-else")).content.decode()


def test_htmx_gets_only_the_map_or_the_incident_panel(client_for, carol, acme_floor):
    client = client_for(carol)
    floor_map = client.get(reverse("machines:map"), **_htmx("floor-map")).content.decode()
    assert "<html" not in floor_map and 'id="floor-map"' in floor_map and 'id="incident-panel"' not in floor_map
    assert f'data-testid="map-node-{acme_floor.press.pk}"' in floor_map
    panel = client.get(reverse("machines:map"), **_htmx("incident-panel")).content.decode()
    assert "<html" not in panel and 'id="incident-panel"' in panel and 'id="floor-map"' not in panel
    assert "Oil leak" in panel and "Coolant low" in panel


def test_htmx_gets_only_the_live_part_of_a_machine_page(client_for, bob, acme_floor):
    client = client_for(bob)
    url = reverse("machines:detail", args=[acme_floor.press.pk])
    live = client.get(url, **_htmx("machine-live")).content.decode()
    assert "<html" not in live and live.lstrip().startswith('<div id="machine-live"')
    assert "Oil leak" in live and "Seal worn" in live and 'data-testid="flows"' not in live
    # The heading's status comes along out of band (it may have been missed while the socket was away).
    press = acme_floor.press
    assert f'<span id="machine-status-{press.pk}" hx-swap-oob="true">' in live
    full = client.get(url).content.decode()
    assert 'data-testid="flows"' in full and "hx-swap-oob" not in full
