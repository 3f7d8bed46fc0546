"""Machines in real browsers: sam reports a fault with a photo, tom's floor map turns red live, he claims the
activity from it, and resolving the fault turns the machine green again on every open page."""

import pytest
from playwright.sync_api import expect

from accounts import services as accounts_services
from machines.models import FaultCase, FaultPhoto, Machine, MachineType
from tests.accounts.images import image_bytes
from tests.browser.conftest import open_live

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _person(organization, username, role):
    return accounts_services.create_member(
        organization=organization,
        username=username,
        email=f"{username}@example.com",
        password="x-Pass-123456",
        role=role,
        first_name=username.capitalize(),
    )


@pytest.fixture
def press(acme):
    kind = MachineType.objects.create(organization=acme, name="Press")
    Machine.objects.create(organization=acme, name="Coil roller R-100", machine_type=kind, pos_x=0, pos_y=0)
    return Machine.objects.create(organization=acme, name="Press P-300", machine_type=kind, pos_x=6, pos_y=0)


def test_a_fault_sam_reports_turns_toms_map_red_and_resolving_it_turns_it_green(
    asgi_live_server, logged_in_page, acme, press, tmp_path
):
    sam, tom = _person(acme, "sam", "staff"), _person(acme, "tom", "technician")
    tom_map = logged_in_page(tom, asgi_live_server)
    open_live(tom_map, f"{asgi_live_server}/machines/map/")
    node = tom_map.get_by_test_id(f"map-node-{press.pk}")
    expect(node).to_have_attribute("data-status", "ok")
    expect(tom_map.get_by_test_id("incident-panel")).to_contain_text("Nothing open")
    tom_home = tom_map.context.new_page()
    open_live(tom_home, f"{asgi_live_server}/")
    expect(tom_home.get_by_test_id("unclaimed")).to_contain_text("No maintenance waiting")

    # Sam, on the floor, reports the fault with a photo from his phone.
    photo = tmp_path / "leak.jpg"
    photo.write_bytes(image_bytes(image_format="JPEG", size=(640, 480)))
    sam_page = logged_in_page(sam, asgi_live_server)
    open_live(sam_page, f"{asgi_live_server}/machines/{press.pk}/")
    sam_page.get_by_test_id("report-fault").click()
    sam_page.get_by_label("Description").fill("Hydraulic oil leaking under the ram")
    sam_page.get_by_label("Severity").select_option("high")
    sam_page.get_by_label("Photos").set_input_files(str(photo))
    sam_page.get_by_role("button", name="Report fault").click()
    expect(sam_page.get_by_test_id(f"status-{press.pk}")).to_have_attribute("data-status", "fault")
    expect(sam_page.get_by_test_id("fault-photo")).to_have_count(1)
    fault = FaultCase.objects.get(machine=press)
    assert FaultPhoto.objects.filter(fault=fault, note=None).count() == 1

    # Tom's map turns the press red without a reload, and its incident waits there to be claimed.
    expect(node).to_have_attribute("data-status", "fault")
    expect(node).to_contain_text("Fault")
    panel = tom_map.get_by_test_id("incident-panel")
    expect(panel).to_contain_text("Press P-300")
    expect(panel).to_contain_text("Hydraulic oil leaking under the ram")
    activity = fault.incident.activity
    # His list of unclaimed maintenance on the home page has it too.
    expect(tom_home.get_by_test_id("unclaimed")).to_contain_text("Press P-300: Hydraulic oil leaking under the ram")
    tom_map.get_by_test_id(f"claim-{activity.pk}").click()
    expect(panel).to_contain_text("Claimed by Tom")
    activity.refresh_from_db()
    assert activity.assigned_to == tom

    # Tom fixes it and resolves the fault on the machine's page, in another tab.
    tom_machine = tom_map.context.new_page()
    open_live(tom_machine, f"{asgi_live_server}/machines/{press.pk}/")
    resolve = tom_machine.get_by_test_id(f"resolve-form-{fault.pk}")
    resolve.get_by_label("Resolution").fill("Replaced the ram seal and topped up the oil.")
    resolve.get_by_role("button", name="Resolve fault").click()
    expect(tom_machine.get_by_test_id(f"status-{press.pk}")).to_have_attribute("data-status", "ok")
    expect(tom_machine.get_by_test_id("repairs")).to_contain_text("Replaced the ram seal")

    # Every open page follows: the map turns green and the incident is gone; Sam's page shows the repair.
    expect(node).to_have_attribute("data-status", "ok")
    expect(panel).to_contain_text("Nothing open")
    expect(sam_page.get_by_test_id(f"status-{press.pk}")).to_have_attribute("data-status", "ok")
    expect(sam_page.get_by_test_id("repairs")).to_contain_text("Replaced the ram seal")
    press.refresh_from_db()
    assert press.status == "ok"
