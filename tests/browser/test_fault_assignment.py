"""A manager assigns a fault to a technician on the machine's page, on a desktop and on a phone; the fault
then names its owner, who is also the owner of the fault's maintenance activity."""

import os

import pytest
from playwright.sync_api import expect

from activities.models import Activity
from machines import services
from machines.models import MachineType
from tests.browser.conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("NEXUS_SHOTS_DIR", "")


@pytest.fixture
def fault(maria, carol):
    kind = MachineType.objects.create(organization=maria.organization, name="Lathe")
    lathe = services.create_machine(actor=maria, machine_type=kind, name="Lathe L-1")
    return services.report_fault(machine=lathe, reporter=carol, description="Chuck slips", severity="high")


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_manager_assigns_a_fault_on_its_page(live_server, logged_in_page, maria, tom, fault, viewport):
    page = logged_in_page(maria, live_server.url, viewport=viewport)
    page.goto(f"{live_server.url}/machines/{fault.machine_id}/#fault-{fault.pk}")
    owner = page.get_by_test_id(f"fault-owner-{fault.pk}")
    expect(owner).to_have_text("Unassigned")

    form = page.get_by_test_id(f"assign-form-{fault.pk}")
    form.get_by_label("Technician").select_option(label="Tom")
    form.get_by_role("button", name="Assign").click()

    expect(page.get_by_text("The fault was assigned to Tom.")).to_be_visible()
    expect(owner).to_have_text("Assigned to Tom")
    assert Activity.objects.get(pk=fault.incident.activity_id).assigned_to == tom
    if SHOTS:
        name = "phone" if viewport else "desktop"
        page.locator(f"#fault-{fault.pk}").evaluate("node => { node.scrollIntoView(); window.scrollBy(0, -140); }")
        page.screenshot(path=os.path.join(SHOTS, f"fault-assigned-{name}.png"))
