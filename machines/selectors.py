"""Reads of machines, their faults and warnings, scoped to one organization.

Anything of another organization is a 404, so nobody learns it exists.
"""

from django.db.models import Count, Prefetch, Q, QuerySet

from machines.models import FaultCase, Machine, MachineType, MachineWarning
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


def faults_of(*, machine: Machine, state: str | None = None) -> QuerySet[FaultCase]:
    faults = machine.faults.select_related("reported_by", "resolved_by", "incident")
    if state:
        faults = faults.filter(state=state)
    return faults


def get_fault_or_404(*, organization, pk: int) -> FaultCase:
    faults = FaultCase.objects.select_related("machine", "reported_by", "resolved_by", "incident")
    return get_for_org_or_404(faults, organization, pk=pk)


def get_warning_or_404(*, machine: Machine, pk: int) -> MachineWarning:
    return get_for_org_or_404(machine.warnings.all(), machine.organization_id, pk=pk)
