"""State changes of machines: the event path from the floor to people, faults, warnings and status.

`raise_machine_event` is the one door for everything the floor reports (fault
cases, warnings, anomaly alerts, vision stalls), as DESIGN.md "The event path"
describes: deduplicate into at most one open incident per (machine, dedup key),
open a claimable Maintenance activity, say so in the machine's channel, notify
the technicians, escalate to managers while nobody claims it, and close when
its activity or fault is resolved. A machine's status is derived from its open
faults, warnings and incidents (`refresh_status`), never set by hand.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from activities import services as activity_services
from activities.models import CLOSED_STATUSES, Activity, ActivityType
from activities.models import Priority as ActivityPriority
from chat import services as chat_services
from machines.models import (
    FaultCase,
    FaultNote,
    Incident,
    Machine,
    MachineStatusChange,
    MachineWarning,
    Severity,
    Status,
)
from nexus.notify import notify
from nexus.permissions import Action, Role, require
from nexus.realtime import organization_group, send_events_on_commit, text_event

MAX_ESCALATIONS = 3
MAX_TEXT_LENGTH = 5_000
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
    text = (text or "").replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise ValidationError({field: "Text may not contain null characters."})
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
    event = text_event({"type": "machines.status", "machine": machine.pk, "status": status})
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
            return incident
    incident.count += 1
    incident.last_seen = now
    incident.save(update_fields=["count", "last_seen"])
    if incident.activity_id:
        activity_services.add_system_note(
            activity=incident.activity, body=f"Happened again ({incident.count} times): {title}"
        )
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
    _say(machine, f"**{label}** {incident.kind}: {incident.title}. A maintenance activity is open for anyone to claim.")
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
    for incident in Incident.objects.filter(activity=activity, state=Incident.State.OPEN):
        with transaction.atomic():
            close_incident(incident, reason=f"{activity.title}: {activity.get_status_display()}")


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
            escalated += 1
    return escalated


# Faults and warnings


@transaction.atomic
def report_fault(*, machine: Machine, reporter: User | None, description: str, severity: str) -> FaultCase:
    """Anyone reports a fault (`reporter` None: an external system); it opens or joins the machine's incident."""
    if reporter is not None:
        require(reporter, Action.REPORT_FAULT)
        if reporter.organization_id != machine.organization_id:
            raise PermissionDenied("That machine is not of your organization.")
    description = _clean_text(description, "description")
    _check_severity(severity)
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
    refresh_status(machine, reason=f"Fault reported: {description[:200]}")
    return fault


@transaction.atomic
def add_fault_note(*, fault: FaultCase, author: User, body: str) -> FaultNote:
    require(author, Action.RESOLVE_FAULT)
    if author.organization_id != fault.organization_id:
        raise PermissionDenied("That fault is not of your organization.")
    return FaultNote.objects.create(fault=fault, author=author, body=_clean_text(body, "body"))


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
        refresh_status(warning.machine, reason=f"Warning cleared: {warning.message}")
    return warning
