"""The demo data command `populate_machines` (and its place in `populate_all`)."""

import pytest
from django.core.management.base import CommandError

from accounts import services as accounts_services
from accounts.models import Organization
from activities.models import ActivityType
from machines.management.commands import populate_machines
from machines.models import (
    FaultCase,
    Incident,
    Machine,
    MachineEdge,
    MachineStatusChange,
    MachineType,
    MachineWarning,
    Severity,
    Status,
)
from nexus.permissions import Role
from tests.commands import run_command

pytestmark = pytest.mark.django_db


def _run(name: str = "populate_machines", **options) -> str:
    return run_command(name, **options)


def _acme(model):
    return model.objects.filter(organization__slug="acme")


def _counts() -> dict:
    return {
        model.__name__: model.objects.count()
        for model in (MachineType, Machine, MachineEdge, FaultCase, MachineWarning, Incident, MachineStatusChange)
    }


def test_it_creates_the_documented_machine_types_with_the_sketchfab_model(demo_people):
    output = _run()
    names = {name for name, _description, _model in populate_machines.TYPES}
    assert set(_acme(MachineType).values_list("name", flat=True)) == names
    roller = _acme(MachineType).get(name=populate_machines.ROLLER)
    assert roller.model_id == "9fa6d94f4e3342a0b8adfd922e8c1901"
    assert set(_acme(MachineType).exclude(pk=roller.pk).values_list("model_id", flat=True)) == {""}
    assert "acme: 12/12 machines" in output
    assert "populate_machines: 12 machine types, 24 machines" in output


def test_it_places_twelve_machines_on_three_lines_with_flows(demo_people):
    _run()
    machines = list(_acme(Machine))
    assert len(machines) == 12
    assert {machine.line for machine in machines} == {"Line 1", "Line 2", "Line 3"}
    for line in ("Line 1", "Line 2", "Line 3"):
        on_line = [machine for machine in machines if machine.line == line]
        assert len({machine.pos_y for machine in on_line}) == 1
        assert len({machine.pos_x for machine in on_line}) == len(on_line)
    assert all(m.manufacturer and m.location and m.capacity_per_hour and m.ideal_cycle_seconds for m in machines)
    edges = list(_acme(MachineEdge).select_related("source", "target"))
    assert len(edges) == 3 * 3 + len(populate_machines.CROSS_FLOWS)
    assert all(edge.source_id != edge.target_id for edge in edges)
    across = [edge for edge in edges if edge.source.line != edge.target.line]
    assert len(across) == 2
    along = [edge for edge in edges if edge.source.line == edge.target.line]
    assert all(edge.source.pos_x < edge.target.pos_x for edge in along)


def test_it_derives_statuses_from_the_open_faults_and_warnings(demo_people):
    _run()
    by_name = {machine.name: machine for machine in _acme(Machine)}
    open_faults = _acme(FaultCase).filter(state=FaultCase.State.OPEN)
    assert open_faults.count() == 3
    assert open_faults.filter(severity=Severity.CRITICAL).count() == 1
    assert set(open_faults.values_list("reported_by__role", flat=True)) == {Role.STAFF}
    resolved = _acme(FaultCase).get(state=FaultCase.State.RESOLVED)
    assert resolved.reported_by.role == Role.STAFF and resolved.resolved_by.role == Role.TECHNICIAN
    assert resolved.resolution and resolved.incident.state == Incident.State.CLOSED
    warnings = _acme(MachineWarning)
    assert warnings.count() == 2 and warnings.filter(cleared_at__isnull=False).count() == 1
    for machine in by_name.values():
        if machine.faults.filter(state=FaultCase.State.OPEN).exists():
            expected = Status.FAULT
        elif (
            machine.warnings.filter(cleared_at__isnull=True).exists()
            or machine.incidents.filter(state=Incident.State.OPEN).exists()
        ):
            expected = Status.WARNING
        else:
            expected = Status.OK
        assert machine.status == expected, machine.name
    assert by_name["Press P-300"].status == Status.FAULT
    assert by_name["Packaging PK-340"].status == Status.WARNING
    assert by_name["Robot cell RC-210"].status == Status.OK
    assert by_name["Robot cell RC-210"].status_changes.count() == 2  # OK -> Fault -> OK


def test_it_opens_incidents_with_claimable_maintenance_activities(demo_people):
    _run()
    incidents = _acme(Incident).filter(state=Incident.State.OPEN).select_related("activity")
    assert incidents.count() == 3 + 1  # Three open faults and the warning still active; clearing closed the other.
    for incident in incidents:
        assert incident.activity.type == ActivityType.MAINTENANCE
        assert incident.activity.assigned_to_id is None


def test_it_creates_nothing_the_second_time(demo_people):
    _run(count=3)
    before = _counts()
    output = _run(count=3)
    assert _counts() == before
    assert "populate_machines: 0 machine types, 0 machines, 0 flows, 0 faults and 0 warnings created." in output
    assert "acme: nothing to add" in output


def test_it_adds_only_the_missing_generated_machines_on_the_lines(demo_people):
    _run(count=2, seed=7)
    _run(count=4, seed=7)
    generated = _acme(Machine).filter(name__contains=" G-")
    assert generated.count() == 4
    for machine in generated:
        assert machine.line in populate_machines.LINES
        assert machine.edges_in.exists()  # Fed by the machine before it on its line.
    again = {spec.name for spec in (populate_machines.generated_spec(index=i, seed=7) for i in range(4))}
    assert set(generated.values_list("name", flat=True)) == again


def test_it_only_touches_the_given_organization(demo_people):
    _run(organization="globex")
    assert not _acme(Machine).exists()
    assert Machine.objects.filter(organization__slug="globex").count() == 12
    # Globex has only an administrator: she is the actor, the reporter and the technician.
    assert set(FaultCase.objects.values_list("reported_by__username", flat=True)) == {"mallory"}
    with pytest.raises(CommandError):
        _run(organization="nowhere")


def test_it_skips_organizations_without_a_manager_or_administrator(demo_people):
    lonely = accounts_services.create_organization(name="Lonely Works", slug="lonely")
    accounts_services.create_member(
        organization=lonely,
        username="lou",
        email="lou@lonely.example",
        password="correct-horse-battery",
        role=Role.STAFF,
    )
    output = _run()
    assert "lonely: skipped" in output and "1 organizations skipped" in output
    assert not Machine.objects.filter(organization=Organization.objects.get(slug="lonely")).exists()


def test_it_refuses_a_negative_count(demo_people):
    with pytest.raises(CommandError):
        _run(count=-1)


def test_it_runs_populate_machines_after_populate_updates_in_populate_all(db):
    from nexus.management.commands.populate_all import POPULATE_COMMANDS

    assert POPULATE_COMMANDS[POPULATE_COMMANDS.index("populate_updates") + 1] == "populate_machines"
    output = _run("populate_all")
    assert "populate_machines: 12 machine types, 24 machines" in output
    again = _run("populate_all")
    assert "populate_machines: 0 machine types, 0 machines" in again
