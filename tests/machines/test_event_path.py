"""The event path from the floor to people: dedup, the activity, the channel, notifications, status, escalation."""

import json
import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, connections
from django.utils import timezone
from notifications.models import Notification

from activities import services as activity_services
from activities.models import ActivityType, Status
from chat.models import Conversation
from machines import services
from machines.models import FaultCase, Incident, Machine, MachineType, MachineWarning, Severity
from machines.models import Status as MachineStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def press(acme):
    kind = MachineType.objects.create(organization=acme, name="Press")
    return Machine.objects.create(organization=acme, name="Press P-300", machine_type=kind, line="Line 1")


def _notified(user, verb) -> list[str]:
    return list(Notification.objects.filter(recipient=user, verb=verb).values_list("description", flat=True))


def _channel_lines(machine) -> list[str]:
    channel = Conversation.objects.filter(key=machine.channel_key).first()
    return [] if channel is None else list(channel.messages.order_by("pk").values_list("content", flat=True))


def test_a_fault_opens_an_incident_with_a_claimable_activity_and_tells_everyone(
    press, carol, bob, maria, broadcasts, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fault = services.report_fault(machine=press, reporter=carol, description="Hydraulic leak", severity="high")
    incident = fault.incident
    assert (incident.state, incident.count, incident.dedup_key) == ("open", 1, "fault")
    activity = incident.activity
    assert activity.type == ActivityType.MAINTENANCE and activity.assigned_to is None
    assert activity.priority == "high" and activity.title == "Press P-300: Hydraulic leak"
    assert _channel_lines(press) == [
        "**High** fault: Hydraulic leak. A maintenance activity is open for anyone to claim."
    ]
    assert _notified(bob, "needs a technician") == ["Press P-300: Hydraulic leak (High)"]
    assert _notified(maria, "needs a technician") == []
    press.refresh_from_db()
    assert press.status == MachineStatus.FAULT
    assert list(press.status_changes.values_list("previous", "status")) == [("ok", "fault")]
    frames = [json.loads(event["text"]) for _group, event in broadcasts if event["type"] == "hub.text"]
    assert {"type": "machines.status", "machine": press.pk, "status": "fault", "label": "Fault"} in frames


def test_a_repeat_joins_the_open_incident_and_pages_nobody_again(press, carol, bob):
    first = services.raise_machine_event(
        machine=press, kind="anomaly", dedup_key="vibration", severity="medium", title="Vibration high"
    )
    again = services.raise_machine_event(
        machine=press, kind="anomaly", dedup_key="vibration", severity="medium", title="Vibration high"
    )
    assert again.pk == first.pk and again.count == 2
    assert Incident.objects.count() == 1 and len(_notified(bob, "needs a technician")) == 1
    assert first.activity.comments.filter(body__startswith="Happened again (2 times)").exists()
    other = services.raise_machine_event(
        machine=press, kind="anomaly", dedup_key="temperature", severity="low", title="Hot"
    )
    assert other.pk != first.pk


def test_resolving_the_fault_closes_the_incident_and_its_activity_and_the_machine_recovers(press, carol, bob):
    fault = services.report_fault(machine=press, reporter=carol, description="Jammed", severity="medium")
    with pytest.raises(PermissionDenied):
        services.resolve_fault(fault=fault, actor=carol, resolution="Kicked it")  # Staff may not resolve.
    services.resolve_fault(fault=fault, actor=bob, resolution="Cleared the jam")
    fault.refresh_from_db()
    incident = Incident.objects.get()
    assert fault.state == FaultCase.State.RESOLVED and fault.resolved_by == bob
    assert incident.state == "closed" and incident.activity.status == Status.COMPLETED
    press.refresh_from_db()
    assert press.status == MachineStatus.OK
    assert [s for _p, s in press.status_changes.order_by("changed_at", "pk").values_list("previous", "status")] == [
        "fault",
        "ok",
    ]
    with pytest.raises(ValidationError):
        services.resolve_fault(fault=fault, actor=bob, resolution="Again")
    # The next event opens a new incident.
    services.report_fault(machine=press, reporter=carol, description="Jammed again", severity="medium")
    assert Incident.objects.filter(state="open").count() == 1 and Incident.objects.count() == 2


def test_completing_the_activity_closes_the_incident(press, carol, bob):
    incident = services.raise_machine_event(
        machine=press, kind="vision", dedup_key="stall", severity="low", title="Line stalled"
    )
    activity = activity_services.claim_activity(activity=incident.activity, user=bob)
    activity_services.change_status(actor=bob, activity=activity, status=Status.COMPLETED, notes="Done")
    incident.refresh_from_db()
    press.refresh_from_db()
    assert incident.state == "closed" and press.status == MachineStatus.OK


@pytest.mark.parametrize(
    ("faults", "warnings", "incidents", "expected"),
    [
        (0, 0, 0, "ok"),
        (0, 0, 1, "warning"),
        (0, 1, 0, "warning"),
        (0, 1, 1, "warning"),
        (1, 0, 0, "fault"),
        (1, 1, 1, "fault"),
    ],
)
def test_the_status_is_derived_from_what_is_open(press, faults, warnings, incidents, expected):
    now = timezone.now()
    if faults:
        FaultCase.objects.create(organization=press.organization, machine=press, description="x")
    if warnings:
        MachineWarning.objects.create(organization=press.organization, machine=press, message="x")
    if incidents:
        Incident.objects.create(
            organization=press.organization,
            machine=press,
            dedup_key="k",
            kind="k",
            severity="low",
            title="x",
            first_seen=now,
            last_seen=now,
        )
    assert services.derive_status(press) == expected


def test_warnings_turn_a_machine_to_warning_until_the_last_is_cleared(press, carol, bob):
    warning = services.add_warning(machine=press, actor=None, message="Oil level low")
    press.refresh_from_db()
    assert press.status == MachineStatus.WARNING
    second = services.add_warning(machine=press, actor=bob, message="Filter clogging")
    incident = Incident.objects.get(dedup_key="warning")
    assert incident.count == 2
    services.clear_warning(warning=warning, actor=bob)
    press.refresh_from_db()
    assert press.status == MachineStatus.WARNING  # One warning is still active.
    services.clear_warning(warning=second, actor=bob)
    press.refresh_from_db()
    incident.refresh_from_db()
    assert press.status == MachineStatus.OK and incident.state == "closed"
    assert incident.activity.status == Status.COMPLETED


def test_bad_events_are_refused_and_change_nothing(press, mallory):
    with pytest.raises(ValidationError):
        services.raise_machine_event(machine=press, kind="x", dedup_key="k", severity="apocalyptic", title="x")
    with pytest.raises(ValidationError):
        services.raise_machine_event(machine=press, kind="x", dedup_key="", severity="low", title="x")
    with pytest.raises(ValidationError):
        services.report_fault(machine=press, reporter=None, description="  ", severity="low")
    with pytest.raises(PermissionDenied):
        services.report_fault(machine=press, reporter=mallory, description="Not yours", severity="low")
    assert not Incident.objects.exists() and not FaultCase.objects.exists()


def test_an_unclaimed_incident_escalates_to_managers_on_time_and_stops_after_a_bound(press, maria, bob, acme):
    start = timezone.now()
    delay = acme.escalation_delay
    with time_machine.travel(start, tick=False):
        incident = services.raise_machine_event(
            machine=press, kind="fault", dedup_key="fault", severity="critical", title="Fire alarm"
        )
    with time_machine.travel(start + delay - timedelta(seconds=1), tick=False):
        assert services.escalate_unclaimed() == 0
    for round_number in range(1, services.MAX_ESCALATIONS + 2):
        with time_machine.travel(start + delay * round_number + timedelta(seconds=1), tick=False):
            services.escalate_unclaimed()
    assert len(_notified(maria, "is unclaimed")) == services.MAX_ESCALATIONS
    assert _notified(bob, "is unclaimed") == []
    assert sum("managers were told" in line for line in _channel_lines(press)) == services.MAX_ESCALATIONS
    incident.refresh_from_db()
    assert incident.escalations == services.MAX_ESCALATIONS and incident.next_escalation_at is None


def test_claiming_stops_the_escalation(press, maria, bob, acme):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        incident = services.raise_machine_event(
            machine=press, kind="fault", dedup_key="fault", severity="high", title="Belt torn"
        )
        activity_services.claim_activity(activity=incident.activity, user=bob)
    with time_machine.travel(start + acme.escalation_delay * 2, tick=False):
        assert services.escalate_unclaimed() == 0
    assert _notified(maria, "is unclaimed") == []
    incident.refresh_from_db()
    assert incident.next_escalation_at is None


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_events_open_exactly_one_incident(press):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL.")
    barrier, errors = threading.Barrier(50), []

    def fire():
        try:
            barrier.wait(timeout=20)
            services.raise_machine_event(
                machine=Machine.objects.get(pk=press.pk),
                kind="anomaly",
                dedup_key="vibration",
                severity=Severity.MEDIUM,
                title="Vibration high",
            )
        except Exception as error:  # Reported below.
            errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=fire) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    [incident] = Incident.objects.filter(machine=press)
    assert incident.state == "open" and incident.count == 50
    assert incident.activity.comments.filter(body__startswith="Happened again").count() == 49


def test_the_escalation_job_runs_every_minute(settings):
    from nexus.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["escalate-unclaimed-incidents"]
    assert entry["task"] == "machines.tasks.escalate_unclaimed_incidents" and entry["schedule"] == 60.0
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
