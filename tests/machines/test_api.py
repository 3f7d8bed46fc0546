"""The machines JSON API over HTTP: machines, faults, warnings, integration tokens and logging in for a token.

Personas from tests/conftest.py: maria (manager) keeps the machines, bob
(technician) resolves, carol (staff) reports, alice is the admin and mallory is
of another organization.
"""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as account_services
from accounts.models import ApiToken, hash_secret
from activities.models import ActivityType
from machines import services
from machines.models import FaultCase, Incident, IntegrationToken, Machine, MachineType, MachineWarning
from tests.api_client import API, bearer_api
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def kind(acme):
    return MachineType.objects.create(organization=acme, name="Press")


@pytest.fixture
def press(maria, kind):
    return services.create_machine(actor=maria, machine_type=kind, name="Press P-300", line="Line 1", hf_key="hf_x")


@pytest.fixture
def mill(maria, kind):
    return services.create_machine(actor=maria, machine_type=kind, name="Mill M-2", line="Line 1")


@pytest.fixture
def globex_press(mallory, globex):
    other = MachineType.objects.create(organization=globex, name="Press")
    return services.create_machine(actor=mallory, machine_type=other, name="Globex press")


def _detail(response) -> str:
    return response.json()["detail"]


# Machines


def test_it_lists_machines_with_status_and_warnings_in_fixed_queries(api_as, carol, press, mill):
    api = api_as(carol)
    api.get("/machines/")  # Warm the session and the user's row.
    with CaptureQueriesContext(connection) as few:
        response = api.get("/machines/")
    services.add_warning(machine=press, actor=carol, message="Oil low")
    services.report_fault(machine=mill, reporter=carol, description="Jammed", severity="high")

    with CaptureQueriesContext(connection) as more:
        again = api.get("/machines/")

    assert response.status_code == 200
    assert [machine["name"] for machine in response.json()] == ["Mill M-2", "Press P-300"]
    assert len(more) == len(few)
    by_name = {machine["name"]: machine for machine in again.json()}
    assert (by_name["Mill M-2"]["status"], by_name["Mill M-2"]["open_fault_count"]) == ("fault", 1)
    assert by_name["Press P-300"]["status"] == "warning"
    assert [w["message"] for w in by_name["Press P-300"]["warnings"]] == ["Oil low"]
    assert by_name["Press P-300"]["machine_type"]["name"] == "Press"


def test_it_never_shows_the_hf_key(api_as, maria, press, kind):
    api = api_as(maria)
    created = api.post("/machines/", {"name": "Lathe", "machine_type_id": kind.pk, "hf_key": "hf_secret_value"})
    responses = [
        api.get("/machines/"),
        api.get(f"/machines/{press.pk}/"),
        created,
        api.patch(f"/machines/{press.pk}/", {"hf_key": "hf_other_secret"}),
    ]

    for response in responses:
        assert response.status_code in (200, 201)
        text = response.content.decode()
        assert '"hf_key"' not in text and "hf_secret_value" not in text and "hf_other_secret" not in text
        assert "hf_x" not in text  # The press's key.
    assert created.json()["has_hf_key"] is True
    assert api.get(f"/machines/{press.pk}/").json()["has_hf_key"] is True
    press.refresh_from_db()
    assert press.hf_key == "hf_other_secret"
    assert api.patch(f"/machines/{press.pk}/", {"hf_key": ""}).json()["has_hf_key"] is False


def test_it_creates_a_machine_for_a_manager(api_as, maria, kind):
    response = api_as(maria).post(
        "/machines/",
        {"name": "Machine A", "location": "Building 1", "importance": "High", "machine_type_id": kind.pk},
    )

    assert response.status_code == 201
    body = response.json()
    machine = Machine.objects.get(pk=body["id"])
    assert (machine.name, machine.location, machine.importance) == ("Machine A", "Building 1", "high")
    assert (body["status"], body["importance"], body["has_hf_key"], body["warnings"]) == ("ok", "high", False, [])


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"name": "  ", "machine_type_id": "KIND"}, "name: Write something first."),
        ({"name": "Press P-300", "machine_type_id": "KIND"}, "name: A machine of that name exists already."),
        ({"name": "Lathe", "machine_type_id": 999999}, "machine_type: Choose a machine type of your organization."),
        ({"name": "Lathe", "machine_type_id": "KIND", "importance": "huge"}, "importance"),
        ({"name": "Lathe", "machine_type_id": "KIND", "ideal_cycle_seconds": -1}, "must be positive"),
        ({"name": "Lathe", "machine_type_id": "KIND", "video_feed_url": "javascript:x"}, "video_feed_url"),
    ],
)
def test_it_refuses_bad_machines_with_the_reason(api_as, maria, press, kind, body, reason):
    body = {key: kind.pk if value == "KIND" else value for key, value in body.items()}

    response = api_as(maria).post("/machines/", body)

    assert response.status_code == 400
    assert reason in _detail(response)
    assert Machine.objects.count() == 1


def test_it_answers_a_body_of_the_wrong_shape_with_422(api_as, maria):
    response = api_as(maria).post("/machines/", {"name": ["Lathe"]})

    assert response.status_code == 422
    assert Machine.objects.count() == 0


def test_it_lets_only_managers_create_change_and_delete_machines(api_as, carol, bob, press, kind):
    for user in (carol, bob):
        api = api_as(user)
        assert api.post("/machines/", {"name": "Lathe", "machine_type_id": kind.pk}).status_code == 403
        assert api.patch(f"/machines/{press.pk}/", {"name": "Renamed"}).status_code == 403
        assert api.delete(f"/machines/{press.pk}/").status_code == 403
    press.refresh_from_db()
    assert (Machine.objects.count(), press.name) == (1, "Press P-300")


def test_it_changes_only_the_fields_sent_and_deletes(api_as, maria, press):
    api = api_as(maria)

    changed = api.patch(f"/machines/{press.pk}/", {"location": "Hall 2", "pos_x": 4.5})
    refused = api.patch(f"/machines/{press.pk}/", {"name": ""})

    assert changed.status_code == 200
    assert (changed.json()["location"], changed.json()["pos_x"], changed.json()["line"]) == ("Hall 2", 4.5, "Line 1")
    assert (refused.status_code, _detail(refused)) == (400, "name: Write something first.")
    assert api.delete(f"/machines/{press.pk}/").status_code == 204
    assert not Machine.objects.exists()
    assert api.get(f"/machines/{press.pk}/").status_code == 404


def test_it_hides_everything_of_another_organization(api_as, mallory, carol, maria, bob, press, globex_press):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    warning = services.add_warning(machine=press, actor=carol, message="Hot")
    outsider = api_as(mallory)

    assert [m["name"] for m in outsider.get("/machines/").json()] == ["Globex press"]
    responses = [
        outsider.get(f"/machines/{press.pk}/"),
        outsider.patch(f"/machines/{press.pk}/", {"name": "Mine"}),
        outsider.delete(f"/machines/{press.pk}/"),
        outsider.get(f"/machines/{press.pk}/faults/"),
        outsider.post(f"/machines/{press.pk}/faults/", {"description": "x"}),
        outsider.patch(f"/faults/{fault.pk}/resolve/", {"resolution": "x"}),
        outsider.post(f"/machines/{press.pk}/warnings/", {"message": "x"}),
        outsider.delete(f"/machines/{press.pk}/warnings/{warning.pk}/"),
        # Acme's people cannot reach Globex's machine either, nor a warning through another machine.
        api_as(maria).get(f"/machines/{globex_press.pk}/"),
        api_as(bob).delete(f"/machines/{globex_press.pk}/warnings/{warning.pk}/"),
    ]

    assert [response.status_code for response in responses] == [404] * len(responses)
    assert {_detail(response) for response in responses} == {"Not found."}
    fault.refresh_from_db()
    warning.refresh_from_db()
    assert (fault.state, warning.cleared_at, Machine.objects.get(pk=press.pk).name) == ("open", None, "Press P-300")


def test_it_asks_anonymous_callers_to_authenticate(client, press):
    assert client.get(f"{API}/machines/").status_code == 401
    assert client.post(f"{API}/machines/{press.pk}/faults/", "{}", content_type="application/json").status_code == 401
    assert bearer_api("nxm_not-a-token").get("/machines/").status_code == 401


# Faults


def test_a_fault_reported_over_the_api_turns_the_machine_to_fault_and_opens_an_incident(api_as, carol, press):
    response = api_as(carol).post(
        f"/machines/{press.pk}/faults/", {"description": "Machine is overheating", "severity": "High"}
    )

    assert response.status_code == 201
    body = response.json()
    fault = FaultCase.objects.get(pk=body["id"])
    assert (fault.reported_by, fault.severity, fault.state) == (carol, "high", "open")
    assert body["reported_by"] == {"id": carol.pk, "name": "Carol"}
    press.refresh_from_db()
    assert press.status == "fault"
    incident = Incident.objects.get(machine=press, state="open")
    assert (body["incident_id"], body["activity_id"]) == (incident.pk, incident.activity_id)
    assert incident.activity.type == ActivityType.MAINTENANCE
    assert incident.activity.title == "Press P-300: Machine is overheating"


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"description": " ", "severity": "low"}, 400, "description: Write something first."),
        ({"description": "Leak", "severity": "urgent"}, 400, "Unknown severity 'urgent'"),
        ({"description": "x" * 5001}, 422, "Invalid input."),  # The schema states the limit.
        ({"severity": "low"}, 422, "Invalid input."),
    ],
)
def test_it_refuses_bad_faults(api_as, carol, press, body, status, reason):
    response = api_as(carol).post(f"/machines/{press.pk}/faults/", body)

    assert response.status_code == status
    assert reason in _detail(response)
    assert not FaultCase.objects.exists() and not Incident.objects.exists()
    press.refresh_from_db()
    assert press.status == "ok"


def test_it_lists_faults_for_technicians_and_not_for_staff(api_as, carol, bob, press):
    services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    fixed = services.report_fault(machine=press, reporter=carol, description="Noise", severity="low")
    services.resolve_fault(fault=fixed, actor=bob, resolution="Tightened")
    api = api_as(bob)

    everything = api.get(f"/machines/{press.pk}/faults/")
    open_ones = api.get(f"/machines/{press.pk}/faults/", {"state": "open"})

    assert [fault["description"] for fault in everything.json()] == ["Noise", "Leak"]
    assert [fault["description"] for fault in open_ones.json()] == ["Leak"]
    assert api.get(f"/machines/{press.pk}/faults/", {"state": "nonsense"}).status_code == 422
    assert api_as(carol).get(f"/machines/{press.pk}/faults/").status_code == 403


def test_a_technician_resolves_a_fault_and_the_machine_is_ok_again(api_as, carol, bob, press):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")

    refused = api_as(carol).patch(f"/faults/{fault.pk}/resolve/", {"resolution": "Fixed"})
    empty = api_as(bob).patch(f"/faults/{fault.pk}/resolve/", {"resolution": " "})
    response = api_as(bob).patch(f"/faults/{fault.pk}/resolve/", {"resolution": "New seal"})
    twice = api_as(bob).patch(f"/faults/{fault.pk}/resolve/", {"resolution": "Again"})

    assert (refused.status_code, _detail(refused)) == (403, "Your role may not resolve fault.")
    assert (empty.status_code, _detail(empty)) == (400, "resolution: Write something first.")
    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["resolution"], body["resolved_by"]) == (
        "resolved",
        "New seal",
        {"id": bob.pk, "name": "Bob"},
    )
    assert (twice.status_code, _detail(twice)) == (400, "The fault is already resolved.")
    assert api_as(bob).patch("/faults/999999/resolve/", {"resolution": "x"}).status_code == 404
    press.refresh_from_db()
    assert press.status == "ok"
    assert Incident.objects.get(machine=press).state == "closed"


# Warnings


def test_anyone_adds_a_warning_and_a_technician_clears_it(api_as, carol, bob, press):
    added = api_as(carol).post(f"/machines/{press.pk}/warnings/", {"message": "Oil low"})
    warning_id = added.json()["id"]

    assert added.status_code == 201
    assert (added.json()["message"], added.json()["created_by"]) == ("Oil low", {"id": carol.pk, "name": "Carol"})
    press.refresh_from_db()
    assert press.status == "warning"
    refused = api_as(carol).delete(f"/machines/{press.pk}/warnings/{warning_id}/")
    assert (refused.status_code, _detail(refused)) == (403, "Your role may not claim maintenance.")
    assert api_as(bob).delete(f"/machines/{press.pk}/warnings/{warning_id}/").status_code == 204
    assert api_as(bob).delete(f"/machines/{press.pk}/warnings/{warning_id}/").status_code == 204  # A no-op.
    assert api_as(bob).delete(f"/machines/{press.pk}/warnings/999999/").status_code == 404
    warning = MachineWarning.objects.get(pk=warning_id)
    assert (warning.cleared_by, warning.cleared_at is not None) == (bob, True)
    assert api_as(bob).get(f"/machines/{press.pk}/").json()["warnings"] == []


@pytest.mark.parametrize(
    ("body", "status"),
    [({"message": ""}, 400), ({"message": "x" * 301}, 422), ({"message": "a\x00b"}, 400), ({}, 422)],
)
def test_it_refuses_bad_warnings(api_as, carol, press, body, status):
    response = api_as(carol).post(f"/machines/{press.pk}/warnings/", body)

    assert response.status_code == status
    assert _detail(response)
    assert not MachineWarning.objects.exists()


def test_a_warning_of_another_machine_is_not_found(api_as, carol, bob, press, mill):
    warning = services.add_warning(machine=press, actor=carol, message="Hot")

    assert api_as(bob).delete(f"/machines/{mill.pk}/warnings/{warning.pk}/").status_code == 404
    warning.refresh_from_db()
    assert warning.cleared_at is None


# Integration tokens


def test_an_integration_token_is_stored_hashed_and_shown_once(maria, press):
    token, raw = services.create_integration_token(actor=maria, name="Vibration sensor", machine=press)

    assert raw.startswith("nxm_") and token.hint == raw[:10]
    stored = IntegrationToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_secret(raw) and raw not in stored.token_hash
    assert (stored.created_by, stored.machine, stored.organization_id) == (maria, press, press.organization_id)
    assert services.authenticate_integration_token(raw).pk == token.pk
    assert services.authenticate_integration_token(raw + "x") is None


def test_only_managers_create_and_revoke_integration_tokens(maria, bob, mallory, press, globex_press):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        services.create_integration_token(actor=bob, name="Sensor")
    with pytest.raises(ValidationError):
        services.create_integration_token(actor=maria, name="Sensor", machine=globex_press)
    with pytest.raises(ValidationError):
        services.create_integration_token(actor=maria, name=" ")
    token, _ = services.create_integration_token(actor=maria, name="Sensor")
    with pytest.raises(PermissionDenied):
        services.revoke_integration_token(actor=mallory, token=token)
    assert IntegrationToken.objects.count() == 1


def test_an_integration_token_reports_faults_and_warnings_as_the_system(maria, bob, press, mill):
    _, raw = services.create_integration_token(actor=maria, name="Monitoring")
    system = bearer_api(raw)

    listed = system.get("/machines/")
    fault = system.post(f"/machines/{press.pk}/faults/", {"description": "Overheating", "severity": "critical"})
    warning = system.post(f"/machines/{mill.pk}/warnings/", {"message": "Vibration rising"})
    cleared = system.delete(f"/machines/{mill.pk}/warnings/{warning.json()['id']}/")

    assert [m["name"] for m in listed.json()] == ["Mill M-2", "Press P-300"]
    assert (fault.status_code, fault.json()["reported_by"]) == (201, None)
    assert FaultCase.objects.get().reported_by is None
    assert (warning.status_code, warning.json()["created_by"]) == (201, None)
    assert cleared.status_code == 204
    assert MachineWarning.objects.get().cleared_by is None
    press.refresh_from_db()
    assert press.status == "fault"
    assert IntegrationToken.objects.get().last_used_at is not None


def test_an_integration_token_may_do_nothing_else(maria, carol, press, kind):
    fault = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    _, raw = services.create_integration_token(actor=maria, name="Monitoring")
    system = bearer_api(raw)

    responses = [
        system.post("/machines/", {"name": "Lathe", "machine_type_id": kind.pk}),
        system.patch(f"/machines/{press.pk}/", {"name": "Renamed"}),
        system.delete(f"/machines/{press.pk}/"),
        system.patch(f"/faults/{fault.pk}/resolve/", {"resolution": "x"}),
        system.get(f"/machines/{press.pk}/faults/"),
    ]

    assert [response.status_code for response in responses] == [403] * len(responses)
    assert {_detail(response) for response in responses} == {
        "An integration token may only read machines, report faults and add or clear warnings."
    }
    assert Machine.objects.count() == 1 and FaultCase.objects.get().state == "open"
    # It is not a personal token either: the rest of the API does not know it.
    assert system.get("/me").status_code == 401


def test_an_integration_token_of_one_machine_touches_only_that_machine(maria, carol, press, mill):
    warning = services.add_warning(machine=mill, actor=carol, message="Hot")
    _, raw = services.create_integration_token(actor=maria, name="Press sensor", machine=press)
    sensor = bearer_api(raw)

    assert [m["name"] for m in sensor.get("/machines/").json()] == ["Press P-300"]
    assert sensor.get(f"/machines/{press.pk}/").status_code == 200
    assert sensor.post(f"/machines/{press.pk}/faults/", {"description": "Leak"}).status_code == 201
    responses = [
        sensor.get(f"/machines/{mill.pk}/"),
        sensor.post(f"/machines/{mill.pk}/faults/", {"description": "Leak"}),
        sensor.post(f"/machines/{mill.pk}/warnings/", {"message": "x"}),
        sensor.delete(f"/machines/{mill.pk}/warnings/{warning.pk}/"),
    ]
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert FaultCase.objects.filter(machine=mill).count() == 0


def test_an_integration_token_of_another_organization_sees_nothing_here(mallory, globex_press, press):
    _, raw = services.create_integration_token(actor=mallory, name="Globex monitoring")
    outsider = bearer_api(raw)

    assert [m["name"] for m in outsider.get("/machines/").json()] == ["Globex press"]
    assert outsider.post(f"/machines/{press.pk}/faults/", {"description": "x"}).status_code == 404
    assert not FaultCase.objects.exists()


def test_a_revoked_integration_token_is_refused(maria, press):
    token, raw = services.create_integration_token(actor=maria, name="Monitoring")
    services.revoke_integration_token(actor=maria, token=token)

    response = bearer_api(raw).post(f"/machines/{press.pk}/faults/", {"description": "Leak"})

    assert response.status_code == 401
    assert not FaultCase.objects.exists()


# Logging in for a token


def test_it_gives_a_personal_token_for_a_username_and_password(carol, press):
    response = Client().post(
        f"{API}/auth/token/",
        json.dumps({"username": "carol", "password": PASSWORD, "name": "Line scanner"}),
        content_type="application/json",
    )

    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("nxs_")
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert (token.user, token.name, token.token_hash) == (carol, "Line scanner", hash_secret(raw))
    api = bearer_api(raw)
    assert api.get(f"/machines/{press.pk}/").status_code == 200
    assert api.post(f"/machines/{press.pk}/faults/", {"description": "Leak"}).json()["reported_by"]["id"] == carol.pk


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"username": "carol", "password": "wrong"}, 401),
        ({"username": "nobody", "password": PASSWORD}, 401),
        ({"username": "carol"}, 422),
        ({"username": "carol", "password": PASSWORD, "name": " "}, 400),
        ({"username": "carol", "password": PASSWORD, "expires_in_days": 0}, 400),
    ],
)
def test_it_refuses_wrong_credentials_and_bad_token_requests(carol, body, status):
    response = Client().post(f"{API}/auth/token/", json.dumps(body), content_type="application/json")

    assert response.status_code == status
    assert _detail(response)
    assert not ApiToken.objects.exists()


def test_it_refuses_a_deactivated_member(carol, alice):
    account_services.set_member_active(actor=alice, member=carol, is_active=False)

    response = Client().post(
        f"{API}/auth/token/", json.dumps({"username": "carol", "password": PASSWORD}), content_type="application/json"
    )

    assert (response.status_code, _detail(response)) == (401, "Wrong username or password.")


def test_it_slows_down_guessing(carol):
    client = Client()
    statuses = [
        client.post(
            f"{API}/auth/token/",
            json.dumps({"username": "carol", "password": "guess"}),
            content_type="application/json",
        ).status_code
        for _ in range(11)
    ]

    assert statuses == [401] * 10 + [429]
