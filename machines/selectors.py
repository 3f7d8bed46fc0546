"""Reads of machines, their faults and warnings, scoped to one organization.

Anything of another organization is a 404, so nobody learns it exists.
"""

import math
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, When
from django.http import Http404

from accounts.models import User
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
from nexus.permissions import Role
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
    return faults.select_related("reported_by", "resolved_by", "incident__activity__assigned_to").prefetch_related(
        Prefetch("notes", queryset=FaultNote.objects.select_related("author").prefetch_related("photos")),
        Prefetch("photos", queryset=FaultPhoto.objects.filter(note__isnull=True), to_attr="report_photos"),
    )


def faults_of(*, machine: Machine, state: str | None = None) -> QuerySet[FaultCase]:
    """A machine's fault cases, newest first, with their notes and photos loaded."""
    faults = _with_notes_and_photos(machine.faults.all())
    if state:
        faults = faults.filter(state=state)
    return faults


def technicians_of(*, organization) -> QuerySet:
    """The active technicians a fault can be assigned to, by name."""
    return scoped(User, organization).filter(role=Role.TECHNICIAN, is_active=True).order_by("first_name", "username")


def get_fault_or_404(*, organization, pk: int, detailed: bool = False) -> FaultCase:
    """The organization's fault with its machine; `detailed` also loads its people, notes and photos (to show it)."""
    faults = FaultCase.objects.select_related("machine")
    return get_for_org_or_404(_with_notes_and_photos(faults) if detailed else faults, organization, pk=pk)


def get_warning_or_404(*, machine: Machine, pk: int) -> MachineWarning:
    return get_for_org_or_404(machine.warnings.all(), machine.organization_id, pk=pk)


def machine_types_of(*, organization) -> QuerySet[MachineType]:
    return scoped(MachineType, organization).annotate(machine_count=Count("machines")).order_by("name", "pk")


def get_machine_type_or_404(*, organization, pk: int) -> MachineType:
    return get_for_org_or_404(MachineType, organization, pk=pk)


def get_edge_or_404(*, organization, pk: int) -> MachineEdge:
    return get_for_org_or_404(MachineEdge.objects.select_related("source", "target"), organization, pk=pk)


def get_photo_or_404(*, organization, pk: int) -> FaultPhoto:
    photos = FaultPhoto.objects.filter(fault__organization=organization)
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
# Machines drawn closer than this (say, several left at the default position 0, 0) are set side by side,
# this far apart, so that each can be seen, clicked and joined by arrows.
MIN_DISTANCE = 2 * NODE_RADIUS + 24
SPREAD = 2 * NODE_RADIUS + 64


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
    """What the SVG draws; `min_x min_y width height` is its viewBox."""

    nodes: list[MapNode]
    edges: list[MapEdge]
    min_x: float
    min_y: float
    width: float
    height: float


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 0.0


def _scale(machines: list[Machine]) -> float:
    """Map units per metre, one for both axes so distances stay true, fitting the floor into the map."""
    spans = [
        (max(values) - min(values), length)
        for values, length in (
            ([_finite(m.pos_x) for m in machines], MAP_WIDTH - 2 * MAP_PADDING),
            ([_finite(m.pos_y) for m in machines], MAP_MAX_HEIGHT - 2 * MAP_PADDING),
        )
    ]
    fits = [length / span for span, length in spans if span > 0]
    return min(fits) if fits else 1.0


def _spread(nodes: list[MapNode]) -> None:
    """Set machines that would overlap side by side around the first of them, in the order given."""
    groups: list[list[MapNode]] = []
    for node in nodes:
        for group in groups:
            if math.hypot(node.x - group[0].x, node.y - group[0].y) < MIN_DISTANCE:
                group.append(node)
                break
        else:
            groups.append([node])
    for group in groups:
        if len(group) == 1:
            continue
        anchor_x, anchor_y = group[0].x, group[0].y
        for index, node in enumerate(group):
            node.x, node.y = anchor_x + (index - (len(group) - 1) / 2) * SPREAD, anchor_y


def _arrow(edge: MachineEdge, source: MapNode, target: MapNode) -> MapEdge | None:
    """An arrow from the rim of one machine's circle to the rim of the next, or None when they touch."""
    dx, dy = target.x - source.x, target.y - source.y
    distance = math.hypot(dx, dy)
    gap = NODE_RADIUS + 4
    if distance <= 2 * gap:
        return None
    ux, uy = dx / distance, dy / distance
    return MapEdge(
        edge=edge, x1=source.x + ux * gap, y1=source.y + uy * gap, x2=target.x - ux * gap, y2=target.y - uy * gap
    )


def floor_map(*, organization) -> FloorMap:
    """Machines placed by their floor position (x across, y down, at one scale) and their material flows as
    arrows; three queries whatever the number of machines and flows."""
    machines = list(machines_for(organization=organization))
    if not machines:
        return FloorMap(nodes=[], edges=[], min_x=0, min_y=0, width=MAP_WIDTH, height=200)
    scale = _scale(machines)
    low_x, low_y = min(_finite(m.pos_x) for m in machines), min(_finite(m.pos_y) for m in machines)
    nodes = [
        MapNode(machine=m, x=(_finite(m.pos_x) - low_x) * scale, y=(_finite(m.pos_y) - low_y) * scale) for m in machines
    ]
    _spread(nodes)
    by_machine = {node.machine.pk: node for node in nodes}
    edges = []
    for edge in scoped(MachineEdge, organization).order_by("pk"):
        source, target = by_machine.get(edge.source_id), by_machine.get(edge.target_id)
        if source is None or target is None:
            continue
        edge.source, edge.target = source.machine, target.machine  # Loaded already: no query per arrow.
        arrow = _arrow(edge, source, target)
        if arrow is not None:
            edges.append(arrow)
    min_x, max_x = min(node.x for node in nodes), max(node.x for node in nodes)
    min_y, max_y = min(node.y for node in nodes), max(node.y for node in nodes)
    width = max(max_x - min_x + 2 * MAP_PADDING, MAP_WIDTH / 2)
    height = max(max_y - min_y + 2 * MAP_PADDING, 200)
    # A drawing narrower (or lower) than the least size sits in its middle.
    return FloorMap(
        nodes=nodes,
        edges=edges,
        min_x=(min_x + max_x - width) / 2,
        min_y=(min_y + max_y - height) / 2,
        width=width,
        height=height,
    )


def integration_tokens_of(*, organization) -> QuerySet[IntegrationToken]:
    return scoped(IntegrationToken, organization).select_related("machine", "created_by")


def get_integration_token_or_404(*, organization, pk: int) -> IntegrationToken:
    return get_for_org_or_404(IntegrationToken, organization, pk=pk)


# Whether Sketchfab can be reached, for the 3D model card (static/js/model-embed.js asks through the
# `model-viewer-reachable` page). Asking the server keeps an offline plant's browser from making a request that
# fails (each failure is an error in its console); the browser then checks for itself before it loads the viewer.
SKETCHFAB_PROBE_URL = "https://sketchfab.com/favicon.ico"
SKETCHFAB_CACHE_KEY = "machines:sketchfab-reachable"
SKETCHFAB_TIMEOUT = 3.0  # seconds for Sketchfab to answer
SKETCHFAB_WAIT = 4.0  # seconds a page's check waits in all: DNS on a network without internet can hang longer
_probe_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sketchfab-probe")


def _probe_sketchfab() -> bool:
    request = urllib.request.Request(SKETCHFAB_PROBE_URL, method="HEAD", headers={"User-Agent": "Nexus"})
    try:
        with urllib.request.urlopen(request, timeout=SKETCHFAB_TIMEOUT):  # noqa: S310 (a constant https URL)
            return True
    except urllib.error.HTTPError:
        return True  # Sketchfab answered, even if not with the icon.
    except (OSError, ValueError):
        return False


def sketchfab_reachable() -> bool:
    """Whether this server reached sketchfab.com lately (remembered 10 minutes, a failure 2 minutes)."""
    known = cache.get(SKETCHFAB_CACHE_KEY)
    if known is not None:
        return known
    try:
        reachable = _probe_pool.submit(_probe_sketchfab).result(timeout=SKETCHFAB_WAIT)
    except FutureTimeout:
        reachable = False
    cache.set(SKETCHFAB_CACHE_KEY, reachable, 600 if reachable else 120)
    return reachable
