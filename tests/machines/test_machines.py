"""Machine types, machines and edges: who may change them, and what is refused."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from machines import services
from machines.models import Machine, MachineEdge, MachineType

pytestmark = pytest.mark.django_db

SEED_EMBED = (
    '<div class="sketchfab-embed-wrapper"> <iframe title="Dekogon - Roller Machine" frameborder="0" allowfullscreen '
    'allow="autoplay; fullscreen; xr-spatial-tracking" src="https://sketchfab.com/models/'
    '9fa6d94f4e3342a0b8adfd922e8c1901/embed"> </iframe> <p><a href="https://sketchfab.com/3d-models/'
    'dekogon-roller-machine-9fa6d94f4e3342a0b8adfd922e8c1901?utm_medium=embed">Dekogon</a></p></div>'
)
MODEL_ID = "9fa6d94f4e3342a0b8adfd922e8c1901"


@pytest.mark.parametrize(
    "pasted",
    [
        SEED_EMBED,
        f"https://sketchfab.com/models/{MODEL_ID}/embed",
        f"https://sketchfab.com/3d-models/dekogon-roller-machine-{MODEL_ID}",
        f"https://sketchfab.com/models/{MODEL_ID}",
        MODEL_ID,
    ],
)
def test_it_keeps_only_the_model_id_of_a_sketchfab_embed_or_link(pasted):
    assert services.sketchfab_model_id(pasted) == MODEL_ID


@pytest.mark.parametrize(
    "pasted",
    [
        "<script>alert(1)</script>",
        f'<iframe src="https://evil.example/models/{MODEL_ID}/embed"></iframe>',
        f'<iframe src="javascript:alert(1)//sketchfab.com/models/{MODEL_ID}/embed"></iframe>',
        f"javascript:alert('https://sketchfab.com/models/{MODEL_ID}')",
        f'<iframe src="https://sketchfab.com/models/{MODEL_ID}/embed" onload="alert(1)"></iframe><iframe src="x">',
        f'<iframe src="https://sketchfab.com.evil.example/models/{MODEL_ID}/embed"></iframe>',
        f"http://sketchfab.com/models/{MODEL_ID}/embed",
        f'<iframe src="https://sketchfab.com/models/{MODEL_ID}/embed" "><script>x</script>',
        "https://sketchfab.com/models/not-an-id/embed",
    ],
)
def test_it_refuses_anything_but_a_sketchfab_model(pasted):
    with pytest.raises(ValidationError):
        services.sketchfab_model_id(pasted)


def test_managers_create_types_machines_and_edges_and_staff_cannot(maria, carol, mallory):
    kind = services.create_machine_type(actor=maria, name="Roller", model=SEED_EMBED)
    assert kind.model_id == MODEL_ID
    press = services.create_machine(
        actor=maria, machine_type=kind, name="Roller R-1", line="Line 1", pos_x=10, pos_y=20, hf_key="secret"
    )
    mill = services.create_machine(actor=maria, machine_type=kind, name="Mill M-2", line="Line 1")
    edge = services.create_edge(actor=maria, source=press, target=mill, flow_type="sheets")
    assert (press.hf_key, edge.flow_type) == ("secret", "sheets")
    services.update_machine(actor=maria, machine=press, location="Hall 2", hf_key=None)  # None keeps the key.
    press.refresh_from_db()
    assert (press.location, press.hf_key) == ("Hall 2", "secret")
    with pytest.raises(PermissionDenied):
        services.create_machine(actor=carol, machine_type=kind, name="Nope")
    with pytest.raises(ValidationError):  # Not a type of her organization.
        services.create_machine(actor=mallory, machine_type=kind, name="Nope")
    with pytest.raises(PermissionDenied):
        services.update_machine(actor=mallory, machine=press, name="Mine")


def test_it_refuses_duplicates_self_loops_foreign_machines_and_bad_values(maria, mallory):
    kind = services.create_machine_type(actor=maria, name="Press")
    with pytest.raises(ValidationError):
        services.create_machine_type(actor=maria, name="press")  # Names are unique ignoring case.
    a = services.create_machine(actor=maria, machine_type=kind, name="A")
    b = services.create_machine(actor=maria, machine_type=kind, name="B")
    with pytest.raises(ValidationError):
        services.create_machine(actor=maria, machine_type=kind, name="a")
    with pytest.raises(ValidationError):
        services.create_machine(actor=maria, machine_type=kind, name="C", video_feed_url="javascript:alert(1)")
    with pytest.raises(ValidationError):
        services.create_machine(actor=maria, machine_type=kind, name="D", ideal_cycle_seconds=0)
    with pytest.raises(ValidationError):
        services.create_machine(actor=maria, machine_type=kind, name="E", colour="red")
    services.create_edge(actor=maria, source=a, target=b)
    with pytest.raises(ValidationError):
        services.create_edge(actor=maria, source=a, target=b)
    with pytest.raises(ValidationError):
        services.create_edge(actor=maria, source=a, target=a)
    foreign_kind = services.create_machine_type(actor=mallory, name="Press")
    foreign = services.create_machine(actor=mallory, machine_type=foreign_kind, name="Z")
    with pytest.raises(ValidationError):
        services.create_edge(actor=maria, source=a, target=foreign)
    with pytest.raises(ValidationError):
        services.create_machine(actor=maria, machine_type=foreign_kind, name="F")
    with pytest.raises(ValidationError):
        services.delete_machine_type(actor=maria, machine_type=kind)  # Machines of it exist.
    assert Machine.objects.filter(organization=maria.organization).count() == 2
    assert MachineEdge.objects.count() == 1 and MachineType.objects.count() == 2


def test_it_cancels_the_open_work_of_a_machine_it_deletes(acme, maria, carol, bob):
    from activities.models import Activity, Status

    kind = MachineType.objects.create(organization=acme, name="Press")
    press = services.create_machine(actor=maria, machine_type=kind, name="Press P-300")
    old = services.create_machine(actor=maria, machine_type=kind, name="Old press")
    fault = services.report_fault(machine=old, reporter=carol, description="Cracked frame", severity="high")
    done = services.report_fault(machine=press, reporter=carol, description="Leak", severity="low")
    services.resolve_fault(fault=done, actor=bob, resolution="Sealed")
    open_activity, finished_activity = fault.incident.activity, done.incident.activity

    services.delete_machine(actor=maria, machine=old)

    assert not Machine.objects.filter(pk=old.pk).exists()
    open_activity.refresh_from_db()
    assert open_activity.status == Status.CANCELLED
    assert open_activity.comments.filter(body__contains="Old press was deleted by Maria").exists()
    assert Activity.objects.get(pk=finished_activity.pk).status == Status.COMPLETED


# Positions and the floor map


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 1e308, -100_001])
def test_it_refuses_a_position_that_is_not_a_plausible_number_of_metres(acme, maria, value):
    kind = MachineType.objects.create(organization=acme, name="Press")
    with pytest.raises(ValidationError) as error:
        services.create_machine(actor=maria, machine_type=kind, name="Press", pos_y=value)
    assert "pos_y" in error.value.message_dict
    assert not Machine.objects.exists()


def test_it_refuses_nan_and_infinity_over_the_api(acme, maria, client_for):
    kind = MachineType.objects.create(organization=acme, name="Press")
    body = f'{{"name": "Press", "machine_type_id": {kind.pk}, "pos_x": NaN}}'
    response = client_for(maria).post("/api/v1/machines/", body, content_type="application/json")
    assert response.status_code == 400 and not Machine.objects.exists()
    assert response.json() == {"detail": "pos_x: A position is a number of metres between -100,000 and 100,000."}


def test_the_floor_map_sets_machines_that_share_a_place_side_by_side_and_joins_them(acme, maria):
    from machines.selectors import MIN_DISTANCE, floor_map

    kind = MachineType.objects.create(organization=acme, name="Press")
    # Three machines left at the default position, and one placed far away.
    placed = [services.create_machine(actor=maria, machine_type=kind, name=f"M{i}") for i in range(3)]
    far = services.create_machine(actor=maria, machine_type=kind, name="Far", pos_x=50, pos_y=20)
    services.create_edge(actor=maria, source=placed[0], target=placed[1])
    services.create_edge(actor=maria, source=placed[2], target=far)

    drawn = floor_map(organization=acme)

    points = [(node.x, node.y) for node in drawn.nodes]
    assert len(set(points)) == 4
    for index, (x, y) in enumerate(points):
        for other_x, other_y in points[index + 1 :]:
            assert ((x - other_x) ** 2 + (y - other_y) ** 2) ** 0.5 >= MIN_DISTANCE
    assert [(line.edge.source.name, line.edge.target.name) for line in drawn.edges] == [("M0", "M1"), ("M2", "Far")]
    # Everything drawn lies inside the viewBox.
    for x, y in points:
        assert drawn.min_x < x < drawn.min_x + drawn.width and drawn.min_y < y < drawn.min_y + drawn.height


def test_it_tells_open_maps_when_machines_and_flows_change(acme, maria, broadcasts, django_capture_on_commit_callbacks):
    import json

    kind = MachineType.objects.create(organization=acme, name="Press")
    with django_capture_on_commit_callbacks(execute=True):
        press = services.create_machine(actor=maria, machine_type=kind, name="Press")
        mill = services.create_machine(actor=maria, machine_type=kind, name="Mill")
        services.create_edge(actor=maria, source=press, target=mill)
    frames = [json.loads(event["text"]) for _group, event in broadcasts if event["type"] == "hub.text"]
    assert frames == [
        {"type": "machines.changed", "machine": press.pk, "layout": True},
        {"type": "machines.changed", "machine": mill.pk, "layout": True},
        {"type": "machines.changed", "machine": press.pk, "layout": True},
    ]
