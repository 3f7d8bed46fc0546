"""Where an activity came from: the extension point in activities, and machines filling it."""

import ast
from pathlib import Path

import pytest
from django.urls import reverse

from activities import origins
from activities.origins import Origin, OriginFact, origins_of
from machines import services as machine_services
from machines.models import Incident

pytestmark = pytest.mark.django_db


@pytest.fixture
def press(maria):
    kind = machine_services.create_machine_type(actor=maria, name="Hydraulic press")
    return machine_services.create_machine(actor=maria, machine_type=kind, name="Press P-300", line="Line 1")


def test_it_shows_what_a_registered_provider_says_opened_the_activity(client_for, maria, make_activity, monkeypatch):
    activity = make_activity(title="Check the coolant")
    other = make_activity(title="Nothing opened this")

    def provider(candidate):
        if candidate.pk != activity.pk:
            return []
        return [Origin("Camera alarm", "Line 2 <stalled>", "/cameras/2/", facts=(OriginFact("Camera", "Cam 2"),))]

    monkeypatch.setattr(origins, "_providers", {**origins._providers, "test.camera": provider})
    assert [origin.title for origin in origins_of(activity)] == ["Line 2 <stalled>"]

    page = client_for(maria).get(reverse("activities:detail", args=[activity.pk])).content.decode()
    assert "Opened by a camera alarm" in page
    assert '<a href="/cameras/2/"><strong>Line 2 &lt;stalled&gt;</strong></a>' in page
    assert "<dt>Camera</dt><dd>Cam 2</dd>" in page
    assert "Opened by" not in client_for(maria).get(reverse("activities:detail", args=[other.pk])).content.decode()


def test_an_incidents_activity_names_its_machine_and_incident_with_links(client_for, maria, bob, press):
    fault = machine_services.report_fault(
        machine=press, reporter=bob, description="Hydraulic leak under the ram", severity="high"
    )
    incident = Incident.objects.get(faults=fault)
    machine_url = reverse("machines:detail", args=[press.pk])

    (origin,) = origins_of(incident.activity)
    assert (origin.label, origin.title, origin.url) == (
        "Machine incident",
        incident.title,
        f"{machine_url}#fault-{fault.pk}",
    )
    assert OriginFact("Machine", "Press P-300", machine_url) in origin.facts

    response = client_for(bob).get(reverse("activities:detail", args=[incident.activity_id]))
    page = response.content.decode()
    assert "Opened by a machine incident" in page
    assert f'<a href="{machine_url}">Press P-300</a>' in page
    assert f'<a href="{machine_url}#fault-{fault.pk}"><strong>{incident.title}</strong></a>' in page


def test_an_activity_without_an_incident_has_no_machine_origin(make_activity):
    assert origins_of(make_activity()) == []


def test_activities_never_import_machines():
    """DESIGN.md: a lower app never imports a higher one; machines fills activities' extension point."""
    root = Path(__file__).resolve().parents[2] / "activities"
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in {"machines", "telemetry"}]
    assert offenders == []
