"""Demo machines: machine types (seed 000's Sketchfab roller machine), three lines of machines, material flows,
open faults (one critical), a resolved fault and warnings (one cleared).

Everything goes through `machines.services` (create_machine_type, create_machine, create_edge, report_fault,
resolve_fault, add_warning, clear_warning), so incidents, their claimable Maintenance activities, channel
messages, notifications and status history are the real ones. The actor is the organization's first manager,
else its first administrator; faults are reported by staff and resolved by a technician when there are any.

Idempotent: types and machines are found again by name (per organization), flows by their two machines, and
faults and warnings are only raised on machines created in the same run, so running twice creates nothing; a
larger --count only adds the missing generated machines.
"""

import random
from dataclasses import dataclass
from itertools import pairwise

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organization, User
from accounts.selectors import organizations_to_populate
from machines import services
from machines.models import Machine, MachineEdge, MachineType, Severity
from nexus.permissions import Action, Role, can
from nexus.tenancy import scoped

ROLLER_EMBED = (
    '<div class="sketchfab-embed-wrapper"> <iframe title="Dekogon - Roller Machine" frameborder="0" '
    'allowfullscreen mozallowfullscreen="true" webkitallowfullscreen="true" '
    'allow="autoplay; fullscreen; xr-spatial-tracking" xr-spatial-tracking execution-while-out-of-viewport '
    "execution-while-not-rendered web-share "
    'src="https://sketchfab.com/models/9fa6d94f4e3342a0b8adfd922e8c1901/embed"> </iframe></div>'
)
ROLLER_MODEL_ID = "9fa6d94f4e3342a0b8adfd922e8c1901"

ROLLER, PRESS, MILL, CONVEYOR, ROBOT, PACKAGING = (
    "Roller machine",
    "Press",
    "CNC mill",
    "Conveyor",
    "Robot cell",
    "Packaging machine",
)
# (name, description, Sketchfab embed or "")
TYPES = [
    (ROLLER, "Coil roller that straightens and feeds strip steel (seed 000's 3D model).", ROLLER_EMBED),
    (PRESS, "Hydraulic or mechanical press for stamping and forming sheet metal.", ""),
    (MILL, "3- or 5-axis CNC milling centre.", ""),
    (CONVEYOR, "Belt or roller conveyor moving parts between stations.", ""),
    (ROBOT, "Fenced robot cell for handling, welding or assembly.", ""),
    (PACKAGING, "Wraps, boxes and labels finished parts for shipping.", ""),
]

LINE_1, LINE_2, LINE_3 = "Line 1", "Line 2", "Line 3"
LINES = [LINE_1, LINE_2, LINE_3]
STEP_X, STEP_Y = 6.0, 10.0  # Metres between machines along a line, and between lines.


@dataclass(frozen=True)
class Spec:
    name: str
    type: str
    line: str
    manufacturer: str
    location: str
    importance: str
    capacity_per_hour: int
    ideal_cycle_seconds: float


MACHINES = [
    Spec("Coil roller R-100", ROLLER, LINE_1, "Dekogon", "Press shop, bay 1", Severity.HIGH, 900, 4.0),
    Spec("Press P-300", PRESS, LINE_1, "Schuler", "Press shop, bay 1", Severity.CRITICAL, 600, 6.0),
    Spec("Conveyor C-110", CONVEYOR, LINE_1, "Interroll", "Press shop, bay 2", Severity.LOW, 1200, 3.0),
    Spec("Robot cell RC-130", ROBOT, LINE_1, "KUKA", "Press shop, bay 2", Severity.MEDIUM, 500, 7.2),
    Spec("CNC mill M-101", MILL, LINE_2, "DMG Mori", "Machining hall, row A", Severity.HIGH, 40, 90.0),
    Spec("CNC mill M-102", MILL, LINE_2, "DMG Mori", "Machining hall, row A", Severity.HIGH, 40, 90.0),
    Spec("Robot cell RC-210", ROBOT, LINE_2, "FANUC", "Machining hall, row B", Severity.MEDIUM, 80, 45.0),
    Spec("Conveyor C-220", CONVEYOR, LINE_2, "Interroll", "Machining hall, row B", Severity.LOW, 300, 12.0),
    Spec("Robot cell RC-310", ROBOT, LINE_3, "ABB", "Assembly, cell 1", Severity.HIGH, 120, 30.0),
    Spec("Conveyor C-320", CONVEYOR, LINE_3, "Bosch Rexroth", "Assembly, cell 2", Severity.LOW, 400, 9.0),
    Spec("Robot cell RC-330", ROBOT, LINE_3, "ABB", "Assembly, cell 3", Severity.MEDIUM, 120, 30.0),
    Spec("Packaging PK-340", PACKAGING, LINE_3, "Krones", "Shipping, dock 1", Severity.MEDIUM, 200, 18.0),
]
# Material flows between lines, on top of the flows along each line.
CROSS_FLOWS = [
    ("Robot cell RC-130", "CNC mill M-101", "blanks"),
    ("Conveyor C-220", "Robot cell RC-310", "machined parts"),
]
# (machine, description, severity): reported by staff, left open.
OPEN_FAULTS = [
    ("Press P-300", "Light curtain does not stop the ram: press locked out.", Severity.CRITICAL),
    ("CNC mill M-102", "Spindle vibration above limit; chatter marks on the parts.", Severity.MEDIUM),
    ("Conveyor C-320", "Belt slips at the drive roller under load.", Severity.LOW),
]
# (machine, description, severity, resolution): reported by staff, resolved by a technician.
RESOLVED_FAULTS = [
    (
        "Robot cell RC-210",
        "Gripper drops parts at the unload station.",
        Severity.HIGH,
        "Replaced the worn gripper pads and recalibrated the vacuum sensor.",
    ),
]
# (machine, message, cleared): added by a technician; cleared ones are cleared again by a technician.
WARNINGS = [
    ("Packaging PK-340", "Stretch film roll below 10%.", False),
    ("Coil roller R-100", "Lubrication due within two days.", True),
]

GENERATED_TYPES = [CONVEYOR, ROBOT, MILL, PRESS, PACKAGING]
MANUFACTURERS = ["Bosch Rexroth", "FANUC", "KUKA", "Siemens", "Trumpf", "Interroll", "ABB"]


def generated_spec(*, index: int, seed: int) -> Spec:
    """Generated machine number `index + 1`: its own random stream, so a larger --count only appends."""
    rng = random.Random(f"populate_machines:{seed}:{index}")
    kind, line = rng.choice(GENERATED_TYPES), rng.choice(LINES)
    cycle = round(rng.uniform(5, 60), 1)
    return Spec(
        name=f"{kind} G-{index + 1:03d}",
        type=kind,
        line=line,
        manufacturer=rng.choice(MANUFACTURERS),
        location=f"{line}, extension",
        importance=rng.choice([Severity.LOW, Severity.MEDIUM, Severity.HIGH]),
        capacity_per_hour=int(3600 / cycle * 0.85),
        ideal_cycle_seconds=cycle,
    )


class Command(BaseCommand):
    help = (
        "Create the demo machines of every organization: machine types (one with seed 000's Sketchfab model), "
        "twelve machines on three lines with material flows, open faults (one critical), a resolved fault and "
        "warnings (one cleared), plus --count generated machines. Idempotent: found again by name."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's slug (default: every organization).")
        parser.add_argument("--count", type=int, default=0, help="Generated machines per organization on top.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated machines and who reports.")

    def handle(self, *args, **options):
        count, seed = options["count"], options["seed"]
        if count < 0:
            raise CommandError("--count must not be negative.")
        self.totals = dict.fromkeys(["types", "machines", "edges", "faults", "warnings"], 0)
        skipped = 0
        with transaction.atomic():
            for organization in organizations_to_populate(options["organization"]):
                actor = self.actor_of(organization)
                if actor is None:
                    skipped += 1
                    self.stdout.write(
                        f"  {organization.slug}: skipped, nobody there may create machines (no manager or "
                        "administrator)"
                    )
                    continue
                self.populate(organization, actor, count=count, seed=seed)
        totals = self.totals
        note = f", {skipped} organizations skipped" if skipped else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"populate_machines: {totals['types']} machine types, {totals['machines']} machines, "
                f"{totals['edges']} flows, {totals['faults']} faults and {totals['warnings']} warnings "
                f"created{note}."
            )
        )

    # People

    def active(self, organization: Organization, *roles: str) -> list[User]:
        return list(scoped(User, organization).filter(is_active=True, role__in=roles).order_by("username"))

    def actor_of(self, organization: Organization) -> User | None:
        """The first manager, else the first administrator (who may create machines); None when there is none."""
        people = [p for p in self.active(organization, Role.MANAGER, Role.ADMIN) if can(p, Action.CREATE_MACHINE)]
        managers = [person for person in people if person.role == Role.MANAGER]
        return (managers or people or [None])[0]

    # Creating

    def populate(self, organization: Organization, actor: User, *, count: int, seed: int) -> None:
        types = self.machine_types(organization, actor)
        specs = MACHINES + [generated_spec(index=index, seed=seed) for index in range(count)]
        machines, created = {}, set()
        total = len(specs)
        for done, spec in enumerate(specs, start=1):
            machine = scoped(Machine, organization).filter(name__iexact=spec.name).first()
            if machine is None:
                machine = self.create_machine(organization, actor, types[spec.type], spec)
                created.add(spec.name)
            machines[spec.name] = machine
            self.stdout.write(f"\r  {organization.slug}: {done}/{total} machines", ending="")
            self.stdout.flush()
        self.stdout.write("")
        self.flows(actor, specs, machines)
        self.trouble(organization, actor, machines, created, seed=seed)
        if not created:
            self.stdout.write(f"  {organization.slug}: nothing to add")

    def machine_types(self, organization: Organization, actor: User) -> dict[str, MachineType]:
        types = {}
        for name, description, model in TYPES:
            kind = scoped(MachineType, organization).filter(name__iexact=name).first()
            if kind is None:
                kind = services.create_machine_type(actor=actor, name=name, description=description, model=model)
                self.totals["types"] += 1
            types[name] = kind
        return types

    def create_machine(self, organization: Organization, actor: User, kind: MachineType, spec: Spec) -> Machine:
        """Placed after the machines already on its line: pos_x along the line, pos_y per line."""
        on_line = scoped(Machine, organization).filter(line=spec.line).count()
        machine = services.create_machine(
            actor=actor,
            machine_type=kind,
            name=spec.name,
            manufacturer=spec.manufacturer,
            line=spec.line,
            location=spec.location,
            importance=spec.importance,
            capacity_per_hour=spec.capacity_per_hour,
            ideal_cycle_seconds=spec.ideal_cycle_seconds,
            pos_x=on_line * STEP_X,
            pos_y=LINES.index(spec.line) * STEP_Y,
        )
        self.totals["machines"] += 1
        return machine

    def flows(self, actor: User, specs: list[Spec], machines: dict[str, Machine]) -> None:
        """Along each line in the order of pos_x, then between lines; only the missing ones."""
        pairs = []
        for line in LINES:
            ordered = sorted((machines[s.name] for s in specs if s.line == line), key=lambda m: (m.pos_x, m.pk))
            pairs += [(source, target, "material") for source, target in pairwise(ordered)]
        pairs += [(machines[source], machines[target], flow) for source, target, flow in CROSS_FLOWS]
        for source, target, flow in pairs:
            if not MachineEdge.objects.filter(source=source, target=target).exists():
                services.create_edge(actor=actor, source=source, target=target, flow_type=flow)
                self.totals["edges"] += 1

    def trouble(self, organization: Organization, actor: User, machines: dict, created: set[str], *, seed: int) -> None:
        """Faults and warnings, only on machines created in this run (so a second run raises nothing)."""
        rng = random.Random(f"populate_machines:{seed}:{organization.slug}")
        staff = self.active(organization, Role.STAFF) or [actor]
        technicians = self.active(organization, Role.TECHNICIAN) or [actor]
        for name, description, severity in OPEN_FAULTS:
            if name in created:
                services.report_fault(
                    machine=machines[name], reporter=rng.choice(staff), description=description, severity=severity
                )
                self.totals["faults"] += 1
        for name, description, severity, resolution in RESOLVED_FAULTS:
            if name in created:
                fault = services.report_fault(
                    machine=machines[name], reporter=rng.choice(staff), description=description, severity=severity
                )
                services.resolve_fault(fault=fault, actor=rng.choice(technicians), resolution=resolution)
                self.totals["faults"] += 1
        for name, message, cleared in WARNINGS:
            if name in created:
                technician = rng.choice(technicians)
                warning = services.add_warning(machine=machines[name], actor=technician, message=message)
                if cleared:
                    services.clear_warning(warning=warning, actor=technician)
                self.totals["warnings"] += 1
