"""Reads of machines, their faults and warnings, scoped to one organization.

Anything of another organization is a 404, so nobody learns it exists.
"""

import math
from dataclasses import dataclass

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, When
from django.http import Http404

from chat import selectors as chat_selectors
from chat.models import Conversation
from machines.models import (
    FaultCase,
    FaultNote,
    FaultPhoto,
    Incident,
    IntegrationToken,
    Machine,
    MachineEdge,
    MachineStatusChange,
    MachineType,
    MachineWarning,
    Severity,
)
from nexus.tenancy import get_for_org_or_404, scoped


def machines_for(*, organization, machine_id: int | None = None) -> QuerySet[Machine]:
    """The organization's machines (only `machine_id` when given), each with `open_fault_count` and
    `active_warnings` (uncleared, newest first) loaded, so a list costs a fixed number of queries."""
    machines = (
        scoped(Machine, organization)
        .select_related("machine_type")
        .annotate(open_fault_count=Count("faults", filter=Q(faults__state=FaultCase.State.OPEN)))
        .prefetch_related(
            Prefetch(
                "warnings",
                queryset=MachineWarning.objects.filter(cleared_at__isnull=True).select_related("created_by"),
                to_attr="active_warnings",
            )
        )
        # An aggregate drops Meta.ordering, so it is said again.
        .order_by("line", "name", "pk")
    )
    if machine_id is not None:
        machines = machines.filter(pk=machine_id)
    return machines


def get_machine_or_404(*, organization, pk: int) -> Machine:
    return get_for_org_or_404(machines_for(organization=organization), organization, pk=pk)


def get_machine_type(*, organization, pk: int | None) -> MachineType | None:
    """The organization's machine type, or None (the service then says which to choose)."""
    if pk is None:
        return None
    return scoped(MachineType, organization).filter(pk=pk).first()


def _with_notes_and_photos(faults: QuerySet[FaultCase]) -> QuerySet[FaultCase]:
    return faults.select_related("reported_by", "resolved_by", "incident__activity").prefetch_related(
        Prefetch("notes", queryset=FaultNote.objects.select_related("author").prefetch_related("photos")),
        Prefetch("photos", queryset=FaultPhoto.objects.filter(note__isnull=True), to_attr="report_photos"),
    )


def faults_of(*, machine: Machine, state: str | None = None) -> QuerySet[FaultCase]:
    """A machine's fault cases, newest first, with their notes and photos loaded."""
    faults = _with_notes_and_photos(machine.faults.all())
    if state:
        faults = faults.filter(state=state)
    return faults


def get_fault_or_404(*, organization, pk: int) -> FaultCase:
    faults = _with_notes_and_photos(FaultCase.objects.select_related("machine"))
    return get_for_org_or_404(faults, organization, pk=pk)


def get_warning_or_404(*, machine: Machine, pk: int) -> MachineWarning:
    return get_for_org_or_404(machine.warnings.all(), machine.organization_id, pk=pk)


def machine_types_of(*, organization) -> QuerySet[MachineType]:
    return scoped(MachineType, organization).annotate(machine_count=Count("machines")).order_by("name", "pk")


def get_machine_type_or_404(*, organization, pk: int) -> MachineType:
    return get_for_org_or_404(MachineType, organization, pk=pk)


def get_edge_or_404(*, organization, pk: int) -> MachineEdge:
    return get_for_org_or_404(MachineEdge.objects.select_related("source", "target"), organization, pk=pk)


def get_photo_or_404(*, organization, pk: int) -> FaultPhoto:
    photos = FaultPhoto.objects.select_related("fault").filter(fault__organization=organization)
    try:
        return photos.get(pk=pk)
    except (FaultPhoto.DoesNotExist, ValueError, TypeError):
        raise Http404("No such photo.") from None


def open_incidents_of(*, organization, machine: Machine | None = None) -> QuerySet[Incident]:
    """Open incidents, worst first, each with its machine and its activity's assignee loaded."""
    incidents = scoped(Incident, organization).filter(state=Incident.State.OPEN)
    if machine is not None:
        incidents = incidents.filter(machine=machine)
    severity_rank = Case(
        *(When(severity=value, then=rank) for rank, value in enumerate(reversed(Severity.values))),
        output_field=IntegerField(),
    )
    return incidents.select_related("machine", "activity__assigned_to").order_by(severity_rank, "-last_seen", "-pk")


@dataclass
class MachinePage:
    """Everything a machine's page shows, in a fixed number of queries."""

    machine: Machine
    open_faults: list[FaultCase]
    repairs: list[FaultCase]
    repair_count: int
    incidents: list[Incident]
    status_history: list[MachineStatusChange]
    feeds: list[MachineEdge]
    fed_by: list[MachineEdge]
    channel: Conversation | None
    channel_messages: list


REPAIRS_SHOWN = 20
HISTORY_SHOWN = 20
CHANNEL_MESSAGES_SHOWN = 8


def machine_page(*, machine: Machine) -> MachinePage:
    """`machine` from `get_machine_or_404` (its warnings loaded)."""
    organization = machine.organization_id
    faults = _with_notes_and_photos(FaultCase.objects.filter(machine=machine))
    resolved = faults.filter(state=FaultCase.State.RESOLVED).order_by("-resolved_at", "-pk")
    edges = MachineEdge.objects.filter(organization_id=organization).select_related("source", "target")
    channel = chat_selectors.channel_of(organization_id=organization, key=machine.channel_key)
    messages = []
    if channel is not None:
        messages = chat_selectors.messages_page(conversation=channel, limit=CHANNEL_MESSAGES_SHOWN).items
    return MachinePage(
        machine=machine,
        open_faults=list(faults.filter(state=FaultCase.State.OPEN).order_by("-reported_at", "-pk")),
        repairs=list(resolved[:REPAIRS_SHOWN]),
        repair_count=resolved.count(),
        incidents=list(open_incidents_of(organization=organization, machine=machine)),
        status_history=list(machine.status_changes.all()[:HISTORY_SHOWN]),
        feeds=list(edges.filter(source=machine).order_by("target__name")),
        fed_by=list(edges.filter(target=machine).order_by("source__name")),
        channel=channel,
        channel_messages=messages,
    )


# The floor map

MAP_WIDTH = 1000
MAP_MAX_HEIGHT = 640
MAP_PADDING = 70
NODE_RADIUS = 26


@dataclass
class MapNode:
    machine: Machine
    x: float
    y: float


@dataclass
class MapEdge:
    edge: MachineEdge
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class FloorMap:
    nodes: list[MapNode]
    edges: list[MapEdge]
    width: int
    height: int


def _axis(values: list[float], length: float) -> tuple[float, float]:
    """(lowest value, units per metre) to fit `values` into `length`; a single position gets no scale."""
    low, span = min(values), max(values) - min(values)
    return low, ((length - 2 * MAP_PADDING) / span if span > 0 else float("inf"))


def floor_map(*, organization) -> FloorMap:
    """Machines placed by their floor position (x across, y down, at one scale so distances stay true) and
    their material flows as arrows from the edge of one machine to the edge of the next; three queries."""
    machines = list(machines_for(organization=organization))
    if not machines:
        return FloorMap(nodes=[], edges=[], width=MAP_WIDTH, height=200)
    min_x, scale_x = _axis([m.pos_x for m in machines], MAP_WIDTH)
    min_y, scale_y = _axis([m.pos_y for m in machines], MAP_MAX_HEIGHT)
    scale = min(scale_x, scale_y)
    scale = 1.0 if scale == float("inf") else scale
    span_x = (max(m.pos_x for m in machines) - min_x) * scale
    span_y = (max(m.pos_y for m in machines) - min_y) * scale
    height = max(int(span_y + 2 * MAP_PADDING), 200)
    # Centre the drawing when it is narrower (or lower) than the map.
    offset_x, offset_y = (MAP_WIDTH - span_x) / 2, (height - span_y) / 2
    nodes = {
        m.pk: MapNode(machine=m, x=offset_x + (m.pos_x - min_x) * scale, y=offset_y + (m.pos_y - min_y) * scale)
        for m in machines
    }
    edges = []
    for edge in scoped(MachineEdge, organization).order_by("pk"):
        source, target = nodes.get(edge.source_id), nodes.get(edge.target_id)
        if source is None or target is None:
            continue
        edge.source, edge.target = source.machine, target.machine  # Loaded already: no query per arrow.
        dx, dy = target.x - source.x, target.y - source.y
        distance = math.hypot(dx, dy)
        if distance <= 2 * NODE_RADIUS + 4:
            continue  # The two overlap on the map: no room for an arrow.
        ux, uy = dx / distance, dy / distance
        gap = NODE_RADIUS + 4
        edges.append(
            MapEdge(
                edge=edge,
                x1=source.x + ux * gap,
                y1=source.y + uy * gap,
                x2=target.x - ux * gap,
                y2=target.y - uy * gap,
            )
        )
    return FloorMap(nodes=list(nodes.values()), edges=edges, width=MAP_WIDTH, height=height)


def integration_tokens_of(*, organization) -> QuerySet[IntegrationToken]:
    return scoped(IntegrationToken, organization).select_related("machine", "created_by")


def get_integration_token_or_404(*, organization, pk: int) -> IntegrationToken:
    return get_for_org_or_404(IntegrationToken, organization, pk=pk)
