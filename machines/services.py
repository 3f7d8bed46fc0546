"""State changes of machines: the event path from the floor to people, faults, warnings and status.

`raise_machine_event` is the one door for everything the floor reports (fault
cases, warnings, anomaly alerts, vision stalls), as DESIGN.md "The event path"
describes: deduplicate into at most one open incident per (machine, dedup key),
open a claimable Maintenance activity, say so in the machine's channel, notify
the technicians, escalate to managers while nobody claims it, and close when
its activity or fault is resolved. A machine's status is derived from its open
faults, warnings and incidents (`refresh_status`), never set by hand.
"""

import math
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User, hash_secret
from activities import services as activity_services
from activities.models import CLOSED_STATUSES, OPEN_STATUSES, Activity, ActivityType
from activities.models import Priority as ActivityPriority
from activities.models import Status as ActivityStatus
from chat import services as chat_services
from machines.models import (
    MAX_TEXT_LENGTH,
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
    Severity,
    Status,
)
from nexus.images import encode, open_image, thumbnail
from nexus.notify import notify
from nexus.permissions import Action, Role, require
from nexus.realtime import organization_group, send_events_on_commit, send_json_on_commit, text_event
from nexus.text import clean_text
from nexus.uploads import delete_files_on_commit, removing_files_on_failure

MAX_ESCALATIONS = 3
THUMBNAIL_SIZE = 320
# Severity -> the activity's priority and how long the repair may take before it is overdue.
_PRIORITY = {
    Severity.LOW: ActivityPriority.LOW,
    Severity.MEDIUM: ActivityPriority.MEDIUM,
    Severity.HIGH: ActivityPriority.HIGH,
    Severity.CRITICAL: ActivityPriority.URGENT,
}
_REPAIR_WITHIN = {
    Severity.LOW: timedelta(days=3),
    Severity.MEDIUM: timedelta(days=1),
    Severity.HIGH: timedelta(hours=8),
    Severity.CRITICAL: timedelta(hours=2),
}


def _clean_text(text: str, field: str, *, required: bool = True, limit: int = MAX_TEXT_LENGTH) -> str:
    text = clean_text(text, field)
    if required and not text:
        raise ValidationError({field: "Write something first."})
    if len(text) > limit:
        raise ValidationError({field: f"Too long: at most {limit:,} characters."})
    return text


def _check_severity(severity: str) -> None:
    if severity not in Severity.values:
        raise ValidationError({"severity": f"Unknown severity {severity!r}: use low, medium, high or critical."})


def _channel(machine: Machine):
    return chat_services.get_or_create_channel(
        organization=machine.organization,
        key=machine.channel_key,
        name=f"machine-{machine.name}"[:80],
        topic=f"{machine.name}: faults, warnings and incidents",
    )


def _say(machine: Machine, text: str) -> None:
    chat_services.post_system_message(conversation=_channel(machine), content=text)


def _changed(machine: Machine, *, layout: bool = False) -> None:
    """After the commit, tell open pages that what a machine's page shows (faults, warnings, incidents, notes)
    changed, so they fetch it again; `layout`: the machine itself or its flows changed (maps redraw). Status
    changes also go out on their own (`refresh_status`)."""
    payload = {"type": "machines.changed", "machine": machine.pk}
    if layout:
        payload["layout"] = True
    send_json_on_commit([organization_group(machine.organization_id)], payload)


def _people(machine: Machine, role: str) -> list[User]:
    return list(User.objects.filter(organization_id=machine.organization_id, role=role, is_active=True))


# Status


def derive_status(machine: Machine) -> str:
    """Fault while a fault case is open; else Warning while a warning or an incident is open; else OK."""
    if machine.faults.filter(state=FaultCase.State.OPEN).exists():
        return Status.FAULT
    if machine.warnings.filter(cleared_at__isnull=True).exists():
        return Status.WARNING
    if machine.incidents.filter(state=Incident.State.OPEN).exists():
        return Status.WARNING
    return Status.OK


def refresh_status(machine: Machine, *, reason: str = "") -> Machine:
    """Store the derived status when it changed: a history row, and every open page told after the commit."""
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    status = derive_status(machine)
    if status == machine.status:
        return machine
    now = timezone.now()
    MachineStatusChange.objects.create(
        machine=machine, previous=machine.status, status=status, reason=reason[:300], changed_at=now
    )
    machine.status, machine.status_changed_at = status, now
    machine.save(update_fields=["status", "status_changed_at", "updated_at"])
    event = text_event(
        {"type": "machines.status", "machine": machine.pk, "status": status, "label": Status(status).label}
    )
    send_events_on_commit([([organization_group(machine.organization_id)], event)])
    return machine


# The event path


@transaction.atomic
def raise_machine_event(
    *, machine: Machine, kind: str, dedup_key: str, severity: str, title: str, detail: str = ""
) -> Incident:
    """Report trouble on a machine; returns the incident it opened or joined.

    A repeat of an open incident counts and adds a line to its activity's
    thread, and pages nobody again. Safe under concurrency: the partial unique
    index lets one transaction open the incident; the others join it.
    """
    _check_severity(severity)
    title = _clean_text(title, "title", limit=200)
    detail = _clean_text(detail, "detail", required=False)
    if not dedup_key or len(dedup_key) > 200:
        raise ValidationError({"dedup_key": "A dedup key is 1 to 200 characters."})
    now = timezone.now()
    incident = _open_incident(machine, dedup_key)
    if incident is None:
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    organization_id=machine.organization_id,
                    machine=machine,
                    dedup_key=dedup_key,
                    kind=kind,
                    severity=severity,
                    title=title,
                    detail=detail,
                    first_seen=now,
                    last_seen=now,
                    next_escalation_at=now + machine.organization.escalation_delay,
                )
        except IntegrityError:
            # Another event opened it first (PostgreSQL raised only after that one committed).
            incident = _open_incident(machine, dedup_key)
            if incident is None:
                raise
        else:
            _open(machine, incident)
            refresh_status(machine, reason=title)
            _changed(machine)
            return incident
    incident.count += 1
    incident.last_seen = now
    incident.save(update_fields=["count", "last_seen"])
    if incident.activity_id:
        activity_services.add_system_note(
            activity=incident.activity, body=f"Happened again ({incident.count} times): {title}"
        )
    _changed(machine)
    return incident


def _open_incident(machine: Machine, dedup_key: str) -> Incident | None:
    return (
        Incident.objects.select_for_update(of=("self",))
        .select_related("activity")
        .filter(machine=machine, dedup_key=dedup_key, state=Incident.State.OPEN)
        .first()
    )


def _open(machine: Machine, incident: Incident) -> None:
    """A new incident: its claimable Maintenance activity, a line in the machine's channel, the technicians told."""
    now = timezone.now()
    activity = activity_services.create_activity(
        organization=machine.organization,
        actor=None,
        title=f"{machine.name}: {incident.title}"[:200],
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + _REPAIR_WITHIN[incident.severity],
        description=incident.detail,
        priority=_PRIORITY[incident.severity],
        notify_people=False,
    )
    incident.activity = activity
    incident.save(update_fields=["activity"])
    label = Severity(incident.severity).label
    title = incident.title.rstrip(".")
    _say(machine, f"**{label}** {incident.kind}: {title}. A maintenance activity is open for anyone to claim.")
    notify(
        recipients=_people(machine, Role.TECHNICIAN),
        verb="needs a technician",
        target=activity,
        description=f"{machine.name}: {incident.title} ({label})",
        level="warning" if incident.severity in (Severity.HIGH, Severity.CRITICAL) else "info",
    )


def close_incident(incident: Incident, *, reason: str) -> None:
    """Close an open incident (the next event opens a new one) and refresh its machine's status."""
    incident = Incident.objects.select_for_update().select_related("machine").get(pk=incident.pk)
    if incident.state != Incident.State.OPEN:
        return
    incident.state, incident.closed_at, incident.next_escalation_at = Incident.State.CLOSED, timezone.now(), None
    incident.save(update_fields=["state", "closed_at", "next_escalation_at"])
    refresh_status(incident.machine, reason=reason)


def activity_closed(activity: Activity) -> None:
    """Called when an activity is saved closed: the incidents it was for are over."""
    if activity.status not in CLOSED_STATUSES:
        return
    for incident in Incident.objects.filter(activity=activity, state=Incident.State.OPEN).select_related("machine"):
        with transaction.atomic():
            close_incident(incident, reason=f"{activity.title}: {activity.get_status_display()}")
            _changed(incident.machine)


def escalate_unclaimed(*, now: datetime | None = None) -> int:
    """Tell managers of incidents nobody has claimed within the organization's delay; repeat, at most
    MAX_ESCALATIONS times. A claimed incident is acknowledged: it escalates no more. Returns how many escalated."""
    now = now or timezone.now()
    due = Incident.objects.filter(state=Incident.State.OPEN, next_escalation_at__lte=now).values_list("pk", flat=True)
    escalated = 0
    for pk in list(due):
        with transaction.atomic():
            incident = (
                Incident.objects.select_for_update(of=("self",))
                .select_related("machine__organization", "activity")
                .get(pk=pk)
            )
            if incident.state != Incident.State.OPEN or not incident.next_escalation_at:
                continue
            if incident.next_escalation_at > now:
                continue
            activity = incident.activity
            if activity is None or activity.assigned_to_id is not None or activity.status in CLOSED_STATUSES:
                incident.next_escalation_at = None  # Claimed (acknowledged) or nothing left to claim.
                incident.save(update_fields=["next_escalation_at"])
                continue
            incident.escalations += 1
            delay = incident.machine.organization.escalation_delay
            waited = now - incident.first_seen
            incident.next_escalation_at = now + delay if incident.escalations < MAX_ESCALATIONS else None
            incident.save(update_fields=["escalations", "next_escalation_at"])
            minutes = int(waited.total_seconds() // 60)
            notify(
                recipients=_people(incident.machine, Role.MANAGER),
                verb="is unclaimed",
                target=activity,
                description=f"Unclaimed for {minutes} min: {incident.machine.name}: {incident.title}",
                level="warning",
            )
            _say(incident.machine, f"Nobody has claimed this for {minutes} minutes; managers were told.")
            _changed(incident.machine)
            escalated += 1
    return escalated


# Faults and warnings

PreparedPhoto = tuple[str, ContentFile, ContentFile]


def _prepare_photos(uploads: Iterable) -> list[PreparedPhoto]:
    """Decode every uploaded photo before anything is stored: (file name, image re-encoded without its
    metadata, thumbnail). A file that is not a readable image of an allowed size refuses the whole upload."""
    uploads = [upload for upload in uploads if upload]
    if len(uploads) > settings.MACHINES_MAX_PHOTOS:
        raise ValidationError({"photos": f"At most {settings.MACHINES_MAX_PHOTOS} photos at a time."})
    prepared = []
    for upload in uploads:
        name = (getattr(upload, "name", "") or "photo").replace("\\", "/").rsplit("/", 1)[-1][:200] or "photo"
        try:
            image = open_image(
                upload, max_bytes=settings.MACHINES_MAX_PHOTO_BYTES, max_pixels=settings.MACHINES_MAX_PHOTO_PIXELS
            )
        except ValidationError as error:
            raise ValidationError({"photos": f"{name}: {' '.join(error.messages)}"}) from None
        # Photos become JPEG; only pictures with transparency stay PNG.
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        image_format = "PNG" if transparent else "JPEG"
        filename = f"{name.rsplit('.', 1)[0][:190] or 'photo'}.{'png' if transparent else 'jpg'}"
        prepared.append(
            (
                filename,
                encode(image, name=filename, image_format=image_format),
                thumbnail(image, size=THUMBNAIL_SIZE),
            )
        )
    return prepared


def _photo_files(photos: Iterable[FaultPhoto]) -> list:
    return [f for photo in photos for f in (photo.image, photo.thumbnail)]


def _store_photos(
    fault: FaultCase,
    photos: list[PreparedPhoto],
    *,
    by: User | None,
    into: list[FaultPhoto],
    note: FaultNote | None = None,
) -> None:
    """Store checked photos (`_prepare_photos`) and their rows, appending each to `into` before its files are
    written. Call inside `removing_files_on_failure(lambda: _photo_files(into))`, so that a failure anywhere
    in the transaction leaves no stored file behind."""
    for filename, content, small in photos:
        photo = FaultPhoto(fault=fault, note=note, filename=filename, uploaded_by=by)
        into.append(photo)
        photo.image.save(filename, content, save=False)
        photo.thumbnail.save("thumb.jpg", small, save=False)
        photo.save()


@transaction.atomic
def report_fault(
    *, machine: Machine, reporter: User | None, description: str, severity: str, photos: Iterable = ()
) -> FaultCase:
    """Anyone reports a fault (`reporter` None: an external system), with photos if they have them; it
    opens or joins the machine's incident."""
    if reporter is not None:
        require(reporter, Action.REPORT_FAULT)
        if reporter.organization_id != machine.organization_id:
            raise PermissionDenied("That machine is not of your organization.")
    description = _clean_text(description, "description")
    _check_severity(severity)
    prepared = _prepare_photos(photos)
    fault = FaultCase.objects.create(
        organization_id=machine.organization_id,
        machine=machine,
        description=description,
        severity=severity,
        reported_by=reporter,
    )
    incident = raise_machine_event(
        machine=machine, kind="fault", dedup_key="fault", severity=severity, title=description.splitlines()[0][:200]
    )
    fault.incident = incident
    fault.save(update_fields=["incident"])
    stored: list[FaultPhoto] = []
    with removing_files_on_failure(lambda: _photo_files(stored)):
        _store_photos(fault, prepared, by=reporter, into=stored)
        refresh_status(machine, reason=f"Fault reported: {description[:200]}")
    return fault


@transaction.atomic
def add_fault_note(*, fault: FaultCase, author: User, body: str, photos: Iterable = ()) -> FaultNote:
    """Technicians and managers add what they found or did, with photos; a note of photos alone may be empty."""
    require(author, Action.RESOLVE_FAULT)
    if author.organization_id != fault.organization_id:
        raise PermissionDenied("That fault is not of your organization.")
    prepared = _prepare_photos(photos)
    body = _clean_text(body, "body", required=not prepared)
    note = FaultNote.objects.create(fault=fault, author=author, body=body)
    stored: list[FaultPhoto] = []
    with removing_files_on_failure(lambda: _photo_files(stored)):
        _store_photos(fault, prepared, by=author, into=stored, note=note)
    _changed(fault.machine)
    return note


@transaction.atomic
def assign_fault(*, fault: FaultCase, actor: User, assignee: User | None) -> FaultCase:
    """Managers give an open fault to a technician, or back to the pool with None.

    The fault's owner is its incident's Maintenance activity's assignee, so assigning here, claiming on the
    activity or assigning on the activity's page all change the one owner (and claiming then stops the
    escalation). A fault whose incident has no open activity cannot be assigned.
    """
    require(actor, Action.ASSIGN_WORK)
    if actor.organization_id != fault.organization_id:
        raise PermissionDenied("That fault is not of your organization.")
    fault = (
        FaultCase.objects.select_for_update(of=("self",))
        .select_related("machine", "incident__activity__assigned_to")
        .get(pk=fault.pk)
    )
    if fault.state != FaultCase.State.OPEN:
        raise ValidationError("The fault is already resolved.")
    if assignee is not None:
        if assignee.organization_id != fault.organization_id:
            raise ValidationError({"assignee": "Choose a technician of your organization."})
        if assignee.role != Role.TECHNICIAN or not assignee.is_active:
            raise ValidationError({"assignee": f"{assignee.display_name} is not an active technician."})
    incident = fault.incident
    activity = incident.activity if incident is not None and incident.state == Incident.State.OPEN else None
    if activity is None or activity.status in CLOSED_STATUSES:
        raise ValidationError("This fault has no open work order to assign.")
    if activity.assigned_to_id == (assignee.pk if assignee else None):
        return fault
    incident.activity = activity_services.assign_activity(
        actor=actor, activity=activity, assignee=assignee, note=f"Fault #{fault.pk} on {fault.machine.name}"
    )
    if assignee is None:
        _say(fault.machine, f"{actor.display_name} put fault #{fault.pk} back in the pool.")
    else:
        _say(fault.machine, f"{actor.display_name} assigned fault #{fault.pk} to {assignee.display_name}.")
    _changed(fault.machine)
    return fault


@transaction.atomic
def resolve_fault(*, fault: FaultCase, actor: User, resolution: str) -> FaultCase:
    """Technicians and managers resolve a fault; the last open fault of an incident closes it and its activity."""
    require(actor, Action.RESOLVE_FAULT)
    fault = (
        FaultCase.objects.select_for_update(of=("self",))
        .select_related("machine", "incident__activity")
        .get(pk=fault.pk)
    )
    if actor.organization_id != fault.organization_id:
        raise PermissionDenied("That fault is not of your organization.")
    if fault.state == FaultCase.State.RESOLVED:
        raise ValidationError("The fault is already resolved.")
    fault.state, fault.resolved_by, fault.resolved_at = FaultCase.State.RESOLVED, actor, timezone.now()
    fault.resolution = _clean_text(resolution, "resolution")
    fault.save(update_fields=["state", "resolved_by", "resolved_at", "resolution"])
    incident = fault.incident
    if incident is not None and not incident.faults.filter(state=FaultCase.State.OPEN).exists():
        if incident.activity is not None:
            activity_services.close_for_system(
                activity=incident.activity, notes=f"Fault resolved by {actor.display_name}: {fault.resolution}"
            )
        close_incident(incident, reason="Fault resolved")
    _say(fault.machine, f"Fault resolved by {actor.display_name}: {fault.resolution}")
    refresh_status(fault.machine, reason=f"Fault resolved: {fault.resolution[:200]}")
    _changed(fault.machine)
    return fault


@transaction.atomic
def add_warning(*, machine: Machine, actor: User | None, message: str) -> MachineWarning:
    """A warning on a machine (`actor` None: an external system); it goes down the event path at low severity."""
    if actor is not None:
        require(actor, Action.REPORT_FAULT)
        if actor.organization_id != machine.organization_id:
            raise PermissionDenied("That machine is not of your organization.")
    message = _clean_text(message, "message", limit=300)
    warning = MachineWarning.objects.create(
        organization_id=machine.organization_id, machine=machine, message=message, created_by=actor
    )
    raise_machine_event(machine=machine, kind="warning", dedup_key="warning", severity=Severity.LOW, title=message)
    refresh_status(machine, reason=f"Warning: {message}")
    return warning


@transaction.atomic
def clear_warning(*, warning: MachineWarning, actor: User | None) -> MachineWarning:
    if actor is not None:
        require(actor, Action.CLAIM_MAINTENANCE)
        if actor.organization_id != warning.organization_id:
            raise PermissionDenied("That warning is not of your organization.")
    warning = MachineWarning.objects.select_for_update().select_related("machine").get(pk=warning.pk)
    if warning.cleared_at is None:
        warning.cleared_at, warning.cleared_by = timezone.now(), actor
        warning.save(update_fields=["cleared_at", "cleared_by"])
        machine = warning.machine
        if not machine.warnings.filter(cleared_at__isnull=True).exists():
            # The last warning is gone: what the warnings opened is over.
            incident = _open_incident(machine, "warning")
            if incident is not None:
                if incident.activity is not None:
                    activity_services.close_for_system(activity=incident.activity, notes="The warnings were cleared.")
                close_incident(incident, reason="Warnings cleared")
        refresh_status(machine, reason=f"Warning cleared: {warning.message}")
        _changed(machine)
    return warning


# Machine types, machines and edges (managers)

_SKETCHFAB_ID = re.compile(r"^[0-9a-f]{32}$")
_SKETCHFAB_URL = re.compile(
    r"^https://sketchfab\.com/(?:models/([0-9a-f]{32})(?:/embed)?|3d-models/[a-z0-9-]*?-?([0-9a-f]{32}))/?(?:[?#].*)?$"
)
_ACTIVE_CONTENT = re.compile(r"<\s*script|\bon[a-z]+\s*=|javascript:|<\s*(?:object|embed|svg|style|link|meta)", re.I)
_IFRAME_SRC = re.compile(r"""<iframe\b[^>]*?\bsrc\s*=\s*["']([^"'<>]+)["']""", re.IGNORECASE)


def sketchfab_model_id(pasted: str) -> str:
    """The model id of a Sketchfab embed (the HTML Sketchfab's "Embed" gives), a model URL or a bare id.

    Only the id is kept; pages render their own iframe to sketchfab.com/models/<id>/embed, so no pasted
    HTML is ever shown. Anything else (other hosts, scripts, javascript: URLs) is refused. "" clears it.
    """
    text = (pasted or "").strip()
    if not text:
        return ""
    if _SKETCHFAB_ID.match(text):
        return text
    if "<" in text and _ACTIVE_CONTENT.search(text):
        raise ValidationError({"model": "The pasted code holds scripts or event handlers; paste Sketchfab's own."})
    candidates = _IFRAME_SRC.findall(text) if "<" in text else [text]
    if "<" in text and len(candidates) != 1:
        raise ValidationError({"model": "Paste Sketchfab's embed code with one iframe, or a sketchfab.com model link."})
    match = _SKETCHFAB_URL.match(candidates[0].strip()) if candidates else None
    if match is None:
        raise ValidationError({"model": "Only sketchfab.com models can be shown: paste its embed code or model link."})
    return match.group(1) or match.group(2)


def _require_machines(actor: User, organization_id: int) -> None:
    require(actor, Action.CREATE_MACHINE)
    if actor.organization_id != organization_id:
        raise PermissionDenied("That is not of your organization.")


def _save(instance, *, unique_message: str):
    try:
        instance.full_clean()
    except ValidationError as error:
        if "__all__" in getattr(error, "error_dict", {}) and any(
            "unique" in str(message).lower() or "already exists" in str(message).lower()
            for message in error.error_dict["__all__"]
        ):
            raise ValidationError({"name": unique_message}) from None
        raise
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError:
        raise ValidationError({"name": unique_message}) from None
    return instance


@transaction.atomic
def create_machine_type(*, actor: User, name: str, description: str = "", model: str = "") -> MachineType:
    _require_machines(actor, actor.organization_id)
    kind = MachineType(
        organization_id=actor.organization_id,
        name=_clean_text(name, "name", limit=100),
        description=_clean_text(description, "description", required=False),
        model_id=sketchfab_model_id(model),
    )
    return _save(kind, unique_message="A machine type of that name exists already.")


@transaction.atomic
def update_machine_type(*, actor: User, machine_type: MachineType, **fields) -> MachineType:
    _require_machines(actor, machine_type.organization_id)
    if "name" in fields:
        machine_type.name = _clean_text(fields["name"], "name", limit=100)
    if "description" in fields:
        machine_type.description = _clean_text(fields["description"], "description", required=False)
    if "model" in fields:
        machine_type.model_id = sketchfab_model_id(fields["model"])
    return _save(machine_type, unique_message="A machine type of that name exists already.")


@transaction.atomic
def delete_machine_type(*, actor: User, machine_type: MachineType) -> None:
    _require_machines(actor, machine_type.organization_id)
    if machine_type.machines.exists():
        raise ValidationError("Machines of this type exist; delete or change them first.")
    machine_type.delete()


# Plausible bounds: a floor is at most kilometres across, a cycle at most a day, and no machine makes millions an hour.
MAX_POSITION = 100_000
MAX_CYCLE_SECONDS = 86_400
MAX_CAPACITY = 10_000_000
MACHINE_FIELDS = (
    "name", "manufacturer", "line", "location", "importance", "capacity_per_hour", "ideal_cycle_seconds",
    "pos_x", "pos_y", "pos_z", "video_feed_url", "hf_endpoint",
)  # fmt: skip


def _apply_machine(machine: Machine, fields: dict) -> None:
    unknown = set(fields) - set(MACHINE_FIELDS) - {"machine_type", "hf_key"}
    if unknown:
        raise ValidationError(f"Unknown machine fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        if name == "machine_type":
            if value is None or value.organization_id != machine.organization_id:
                raise ValidationError({"machine_type": "Choose a machine type of your organization."})
            machine.machine_type = value
        elif name == "hf_key":
            if value is not None:  # None keeps the stored key; "" removes it. It is never read back out.
                machine.hf_key = _clean_text(value, "hf_key", required=False, limit=500)
        elif name in ("name", "manufacturer", "line", "location"):
            limit = Machine._meta.get_field(name).max_length
            setattr(machine, name, _clean_text(value, name, required=name == "name", limit=limit))
        else:
            setattr(machine, name, value)
    for name in ("pos_x", "pos_y", "pos_z"):
        value = getattr(machine, name)
        if value is None or not math.isfinite(value) or abs(value) > MAX_POSITION:
            raise ValidationError(
                {name: f"A position is a number of metres between -{MAX_POSITION:,} and {MAX_POSITION:,}."}
            )
    cycle = machine.ideal_cycle_seconds
    if cycle is not None and (not math.isfinite(cycle) or cycle <= 0 or cycle > MAX_CYCLE_SECONDS):
        raise ValidationError({"ideal_cycle_seconds": "The ideal cycle time must be positive, at most a day."})
    if machine.capacity_per_hour is not None and not 0 <= machine.capacity_per_hour <= MAX_CAPACITY:
        raise ValidationError({"capacity_per_hour": f"The capacity is 0 to {MAX_CAPACITY:,} parts per hour."})


@transaction.atomic
def create_machine(*, actor: User, machine_type: MachineType, name: str, **fields) -> Machine:
    """A machine on the floor; `fields` are MACHINE_FIELDS and `hf_key` (write-only)."""
    _require_machines(actor, actor.organization_id)
    machine = Machine(organization_id=actor.organization_id)
    _apply_machine(machine, {"machine_type": machine_type, "name": name, **fields})
    _save(machine, unique_message="A machine of that name exists already.")
    _changed(machine, layout=True)
    return machine


@transaction.atomic
def update_machine(*, actor: User, machine: Machine, **fields) -> Machine:
    _require_machines(actor, machine.organization_id)
    machine = Machine.objects.select_for_update().get(pk=machine.pk)
    _apply_machine(machine, fields)
    _save(machine, unique_message="A machine of that name exists already.")
    _changed(machine, layout=True)
    return machine


@transaction.atomic
def delete_machine(*, actor: User, machine: Machine) -> None:
    """Delete a machine with its faults, warnings, incidents and history; the work its open incidents opened is
    cancelled, so nobody is left with a maintenance activity for a machine that is gone."""
    _require_machines(actor, machine.organization_id)
    open_work = Activity.objects.filter(
        incidents__machine=machine, incidents__state=Incident.State.OPEN, status__in=OPEN_STATUSES
    )
    for activity in open_work.distinct():
        activity_services.close_for_system(
            activity=activity,
            notes=f"{machine.name} was deleted by {actor.display_name}.",
            status=ActivityStatus.CANCELLED,
        )
    delete_files_on_commit(_photo_files(FaultPhoto.objects.filter(fault__machine=machine)))
    _changed(machine, layout=True)
    machine.delete()


@transaction.atomic
def create_edge(*, actor: User, source: Machine, target: Machine, flow_type: str = "") -> MachineEdge:
    """Material flows from `source` to `target`: no self-loops, no duplicates, never across organizations."""
    _require_machines(actor, actor.organization_id)
    if source.organization_id != actor.organization_id or target.organization_id != actor.organization_id:
        raise ValidationError({"target": "Both machines must be of your organization."})
    if source.pk == target.pk:
        raise ValidationError({"target": "A machine cannot feed itself."})
    if MachineEdge.objects.filter(source=source, target=target).exists():
        raise ValidationError({"target": "That flow exists already."})
    edge = MachineEdge(
        organization_id=actor.organization_id,
        source=source,
        target=target,
        flow_type=_clean_text(flow_type, "flow_type", required=False, limit=50),
    )
    try:
        with transaction.atomic():
            edge.save()
    except IntegrityError:
        raise ValidationError({"target": "That flow exists already."}) from None
    _changed(source, layout=True)
    return edge


@transaction.atomic
def delete_edge(*, actor: User, edge: MachineEdge) -> None:
    _require_machines(actor, edge.organization_id)
    _changed(edge.source, layout=True)
    edge.delete()


# Integration tokens (external systems)


@transaction.atomic
def create_integration_token(*, actor: User, name: str, machine: Machine | None = None) -> tuple[IntegrationToken, str]:
    """A token for an external system, limited to `machine` when given; the raw value is returned once.

    Managers and admins create them; only the hash is kept.
    """
    _require_machines(actor, actor.organization_id)
    if machine is not None and machine.organization_id != actor.organization_id:
        raise ValidationError({"machine": "Choose a machine of your organization."})
    name = _clean_text(name, "name", limit=100)
    raw = IntegrationToken.PREFIX + secrets.token_urlsafe(32)
    token = IntegrationToken.objects.create(
        organization_id=actor.organization_id,
        machine=machine,
        name=name,
        token_hash=hash_secret(raw),
        hint=raw[: len(IntegrationToken.PREFIX) + 6],
        created_by=actor,
    )
    return token, raw


@transaction.atomic
def revoke_integration_token(*, actor: User, token: IntegrationToken) -> IntegrationToken:
    """Managers and admins revoke a token of their organization; revoking twice changes nothing."""
    _require_machines(actor, token.organization_id)
    token = IntegrationToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def authenticate_integration_token(raw: str) -> IntegrationToken | None:
    """The unrevoked token with this raw value (with its organization and machine), or None."""
    if not raw or not raw.startswith(IntegrationToken.PREFIX):
        return None
    token = (
        IntegrationToken.objects.select_related("organization", "machine")
        .filter(token_hash=hash_secret(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    # Record use at most once a minute so a sensor reporting every second does not write every time.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        IntegrationToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
