"""Machines fill activities' "origin" extension point: an incident's activity names its machine and incident."""

from activities.models import Activity
from activities.origins import Origin, OriginFact
from machines.models import Incident
from nexus.reversing import url_for


def incident_origins(activity: Activity) -> list[Origin]:
    """The incidents that opened `activity` (usually one), each with its machine and the fault it came from."""
    incidents = (
        Incident.objects.filter(organization_id=activity.organization_id, activity_id=activity.pk)
        .select_related("machine")
        .prefetch_related("faults")
        .order_by("first_seen", "pk")
    )
    origins = []
    for incident in incidents:
        machine_url = url_for("machines:detail", incident.machine_id)
        faults = list(incident.faults.all())
        # Incidents have no page of their own; the machine's page lists them (and the fault they came from).
        url = f"{machine_url}#fault-{faults[0].pk}" if faults else f"{machine_url}#machine-live"
        facts = [
            OriginFact("Machine", incident.machine.name, machine_url),
            OriginFact("Severity", incident.get_severity_display()),
            OriginFact("Kind", incident.kind),
            OriginFact(
                "State", incident.get_state_display() + (f", seen {incident.count} times" if incident.count > 1 else "")
            ),
        ]
        facts += [OriginFact("Fault", fault.description[:80], f"{machine_url}#fault-{fault.pk}") for fault in faults]
        origins.append(
            Origin(
                label="Machine incident", title=incident.title, url=url, since=incident.first_seen, facts=tuple(facts)
            )
        )
    return origins
