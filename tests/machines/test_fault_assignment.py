"""Seed 002 over the API and on the pages: its machine body (numeric importance), and managers assigning
faults to technicians, which assigns the incident's activity so the fault has one owner wherever it is set.

Personas from tests/conftest.py: maria (manager) and alice (admin) assign, bob is a
technician, carol is staff, mallory is of another organization.
"""

import pytest

from accounts.models import User
from activities import services as activity_services
from activities.models import Activity
from machines import services
from machines.models import FaultCase, Machine, MachineType
from nexus.permissions import Role
from tests.api_client import bearer_api, token_api

pytestmark = pytest.mark.django_db


@pytest.fixture
def lathes(acme):
    return MachineType.objects.create(organization=acme, name="Lathe")


@pytest.fixture
def lathe(maria, lathes):
    return services.create_machine(actor=maria, machine_type=lathes, name="Lathe L-1")


@pytest.fixture
def fault(lathe, carol):
    return services.report_fault(machine=lathe, reporter=carol, description="Chuck slips", severity="high")


@pytest.fixture
def dan(acme):
    return User.objects.create_user(username="dan", first_name="Dan", organization=acme, role=Role.TECHNICIAN)


def _owner(fault: FaultCase):
    return Activity.objects.get(pk=fault.incident.activity_id).assigned_to


# Seed 002's machine body


@pytest.mark.parametrize(
    ("importance", "level"),
    [(1, "low"), (2, "low"), (3, "medium"), (4, "high"), (5, "critical"), ("Critical", "critical"), ("low", "low")],
)
def test_it_accepts_the_seeds_machine_body_with_a_number_or_a_level(api_as, maria, lathes, importance, level):
    response = api_as(maria).post(
        "/machines/", {"name": "Machine A", "location": "Building 1", "importance": importance}
    )

    assert response.status_code == 201, response.content
    machine = Machine.objects.get(pk=response.json()["id"])
    assert (machine.machine_type, machine.location, machine.importance) == (lathes, "Building 1", level)
    assert response.json()["importance"] == level


def test_it_changes_importance_by_number(api_as, maria, lathe):
    response = api_as(maria).patch(f"/machines/{lathe.pk}/", {"importance": 4})

    assert (response.status_code, response.json()["importance"]) == (200, "high")


@pytest.mark.parametrize("importance", [0, 6, -1, 2.5, True, None, [5]])
def test_it_refuses_an_importance_out_of_range(api_as, maria, lathes, importance):
    response = api_as(maria).post("/machines/", {"name": "Machine A", "importance": importance})

    assert response.status_code == 422
    assert response.json()["errors"]
    assert not Machine.objects.exists()


def test_it_refuses_an_unknown_importance_name(api_as, maria, lathes):
    response = api_as(maria).post("/machines/", {"name": "Machine A", "importance": "huge"})

    assert response.status_code == 400
    assert "importance" in response.json()["detail"]
    assert not Machine.objects.exists()


def test_it_asks_for_a_machine_type_when_the_organization_has_several_or_none(api_as, maria, acme):
    none = api_as(maria).post("/machines/", {"name": "Machine A"})
    MachineType.objects.create(organization=acme, name="Lathe")
    MachineType.objects.create(organization=acme, name="Press")
    several = api_as(maria).post("/machines/", {"name": "Machine A"})

    assert (none.status_code, several.status_code) == (400, 400)
    assert none.json()["detail"].startswith("machine_type_id: Create a machine type first")
    assert several.json()["detail"].startswith("machine_type_id: Send one of your machine types: ")
    assert "(Lathe)" in several.json()["detail"] and "(Press)" in several.json()["detail"]
    assert not Machine.objects.exists()


def test_it_never_takes_another_organizations_only_machine_type(api_as, mallory, lathes):
    response = api_as(mallory).post("/machines/", {"name": "Machine A", "importance": 5})

    assert response.status_code == 400
    assert not Machine.objects.exists()


# Assigning a fault over the API


def test_a_manager_assigns_a_fault_and_the_activity_gets_the_same_owner(api_as, maria, bob, fault, broadcasts):
    response = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert response.status_code == 200, response.content
    assert response.json()["assigned_to"] == {"id": bob.pk, "name": "Bob"}
    assert _owner(fault) == bob
    listed = api_as(bob).get(f"/machines/{fault.machine_id}/faults/").json()
    assert [item["assigned_to"] for item in listed] == [{"id": bob.pk, "name": "Bob"}]


def test_an_assignment_on_the_activity_shows_on_the_fault(api_as, maria, bob, fault):
    activity = Activity.objects.get(pk=fault.incident.activity_id)
    activity_services.assign_activity(actor=maria, activity=activity, assignee=bob)

    response = api_as(bob).get(f"/machines/{fault.machine_id}/faults/")

    assert response.json()[0]["assigned_to"] == {"id": bob.pk, "name": "Bob"}


def test_an_admin_reassigns_and_puts_a_fault_back_in_the_pool(api_as, alice, bob, dan, fault):
    assert api_as(alice).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk}).status_code == 200
    again = api_as(alice).post(f"/faults/{fault.pk}/assign/", {"assignee_id": dan.pk})
    assert (again.status_code, _owner(fault)) == (200, dan)

    pooled = api_as(alice).post(f"/faults/{fault.pk}/assign/", {"assignee_id": None})

    assert pooled.status_code == 200
    assert pooled.json()["assigned_to"] is None
    assert _owner(fault) is None


@pytest.mark.parametrize("role", ["bob", "carol"])
def test_staff_and_technicians_may_not_assign(api_as, bob, fault, role, request):
    response = api_as(request.getfixturevalue(role)).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert response.status_code == 403
    assert response.json()["detail"]
    assert _owner(fault) is None


def test_an_integration_token_may_not_assign(maria, bob, fault, lathe):
    _, raw = services.create_integration_token(actor=maria, name="SCADA")

    response = bearer_api(raw).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert response.status_code == 403
    assert _owner(fault) is None


def test_it_assigns_only_active_technicians_of_the_organization(api_as, alice, maria, carol, bob, mallory, fault):
    staff = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": carol.pk})
    manager = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": maria.pk})
    foreign = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": mallory.pk})
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    inactive = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert [r.status_code for r in (staff, manager, foreign, inactive)] == [400, 400, 400, 400]
    assert staff.json()["detail"] == "assignee_id: Carol is not an active technician."
    assert foreign.json()["detail"] == f"assignee_id: Unknown person {mallory.pk}."
    assert inactive.json()["detail"] == "assignee_id: Bob is not an active technician."
    assert _owner(fault) is None


def test_it_refuses_to_assign_a_resolved_fault(api_as, maria, bob, fault):
    services.resolve_fault(fault=fault, actor=bob, resolution="New jaws")

    response = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert (response.status_code, response.json()["detail"]) == (400, "The fault is already resolved.")


@pytest.mark.parametrize(
    "body", [{}, {"assignee_id": "bob"}, {"assignee_id": True}, {"assignee_id": 0}, {"assignee_id": 2**64}]
)
def test_it_refuses_a_malformed_assignment(api_as, maria, fault, body):
    response = api_as(maria).post(f"/faults/{fault.pk}/assign/", body)

    assert response.status_code == 422
    assert _owner(fault) is None


def test_it_hides_another_organizations_fault(maria, mallory, bob, fault):
    response = token_api(mallory).post(f"/faults/{fault.pk}/assign/", {"assignee_id": bob.pk})

    assert response.status_code == 404
    assert token_api(maria).post("/faults/99999999/assign/", {"assignee_id": bob.pk}).status_code == 404
    assert _owner(fault) is None


def test_it_refuses_a_nul_character_in_the_body(api_as, maria, fault):
    response = api_as(maria).post(f"/faults/{fault.pk}/assign/", {"assignee_id": 1, "note": "a\u0000b"})

    assert response.status_code == 400
    assert _owner(fault) is None


# Assigning a fault on its page


def test_a_manager_assigns_a_fault_on_its_page(client_for, maria, bob, fault):
    client = client_for(maria)
    page = client.get(f"/machines/{fault.machine_id}/")
    assert f'data-testid="assign-form-{fault.pk}"' in page.content.decode()

    response = client.post(f"/machines/faults/{fault.pk}/assign/", {"assignee": bob.pk})

    assert response.status_code == 302
    assert _owner(fault) == bob
    shown = client.get(f"/machines/{fault.machine_id}/").content.decode()
    assert "Assigned to <strong>Bob</strong>" in shown

    pooled = client.post(f"/machines/faults/{fault.pk}/assign/", {"assignee": ""})
    assert pooled.status_code == 302
    assert _owner(fault) is None


def test_the_page_refuses_a_staff_member_a_stranger_and_a_bad_choice(client_for, maria, bob, carol, mallory, fault):
    assert f"assign-form-{fault.pk}" not in client_for(bob).get(f"/machines/{fault.machine_id}/").content.decode()
    assert client_for(carol).post(f"/machines/faults/{fault.pk}/assign/", {"assignee": bob.pk}).status_code == 403
    assert client_for(mallory).post(f"/machines/faults/{fault.pk}/assign/", {"assignee": bob.pk}).status_code == 404
    refused = client_for(maria).post(f"/machines/faults/{fault.pk}/assign/", {"assignee": carol.pk})
    nonsense = client_for(maria).post(f"/machines/faults/{fault.pk}/assign/", {"assignee": "x\u0000"})

    assert (refused.status_code, nonsense.status_code) == (400, 400)
    assert "Choose an active technician" in refused.content.decode()
    assert _owner(fault) is None
