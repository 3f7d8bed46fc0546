"""Pages for machines: the grid, the floor map, a machine's page, faults, warnings, and managers' settings.

Thin: parse, call one service or selector, render. Actions are plain form posts
that redirect back with a flash message (photos are uploaded with them), so
every screen works without JavaScript; open pages refresh their live parts when
the socket says a machine changed (`machines.changed`, `machines.status`).
"""

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models.deletion import ProtectedError
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from machines import selectors, services
from machines.forms import (
    EdgeForm,
    FaultNoteForm,
    FaultReportForm,
    IntegrationTokenForm,
    MachineForm,
    MachineTypeForm,
    ResolveForm,
    WarningForm,
)
from machines.models import FaultCase, Status
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.forms import apply_validation_error
from nexus.permissions import Action, can, require


def _get_machine_for_user(request, pk: int):
    return selectors.get_machine_or_404(organization=request.organization, pk=pk)


def _get_fault_for_user(request, pk: int) -> FaultCase:
    return selectors.get_fault_or_404(organization=request.organization, pk=pk)


def _back_to(machine_id: int, anchor: str = "") -> HttpResponseRedirect:
    return redirect(reverse("machines:detail", args=[machine_id]) + (f"#{anchor}" if anchor else ""))


def _partial(request, template_name: str, parts: dict[str, str]) -> str:
    """The partial an htmx refresh of one part asks for (by its id), else the whole page."""
    if request.htmx and request.htmx.target in parts:
        return f"{template_name}#{parts[request.htmx.target]}"
    return template_name


# Seeing machines


@login_required
def machine_list(request):
    machines = list(selectors.machines_for(organization=request.organization))
    counts = Counter(machine.status for machine in machines)
    status_counts = [(value, label, counts[value]) for value, label in Status.choices]
    context = {"machines": machines, "status_counts": status_counts}
    return render(request, _partial(request, "machines/list.html", {"machine-grid": "grid"}), context)


@login_required
def floor_map(request):
    parts = {"floor-map": "map", "incident-panel": "incidents"}
    template_name = _partial(request, "machines/map.html", parts)
    context = {}
    # A refresh of one part computes that part only.
    if not template_name.endswith("#incidents"):
        context["map"] = selectors.floor_map(organization=request.organization)
    if not template_name.endswith("#map"):
        context["incidents"] = selectors.open_incidents_of(organization=request.organization)
    return render(request, template_name, context)


def _detail_context(request, machine) -> dict:
    user = request.user
    return {
        "machine": machine,
        "page": selectors.machine_page(machine=machine),
        "may_manage": can(user, Action.CREATE_MACHINE),
        "may_repair": can(user, Action.RESOLVE_FAULT),
        "technicians": (
            list(selectors.technicians_of(organization=request.organization)) if can(user, Action.ASSIGN_WORK) else None
        ),
        "edge_form": EdgeForm(machine=machine) if can(user, Action.CREATE_MACHINE) else None,
        "kept": {},
    }


@login_required
def detail(request, pk: int):
    machine = _get_machine_for_user(request, pk)
    template_name = _partial(request, "machines/detail.html", {"machine-live": "live"})
    context = _detail_context(request, machine)
    context["refreshing"] = template_name.endswith("#live")
    return render(request, template_name, context)


# Faults and warnings


@login_required
@require_http_methods(["GET", "POST"])
def report_fault(request, pk: int):
    require(request.user, Action.REPORT_FAULT)
    machine = _get_machine_for_user(request, pk)
    form = FaultReportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_fault(machine=machine, reporter=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"The fault on {machine.name} was reported; technicians were told.")
            return _back_to(machine.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "machines/report_fault.html", {"machine": machine, "form": form}, status=status)


# How the flash messages of refused actions name a form's fields.
FIELD_LABELS = {
    "body": "Note",
    "photos": "Photos",
    "resolution": "Resolution",
    "message": "Warning",
    "assignee": "Technician",
    "target": "Feeds into",
    "flow_type": "What flows",
}


def _refused(request, error: ValidationError, machine_id: int, *, kept: dict, edge_form: EdgeForm | None = None):
    """The machine's page again (400) with the reason, and what was typed kept in its form; files must be
    chosen again, since a browser never sends them back."""
    reason = error_text(error, FIELD_LABELS)
    if request.FILES:
        reason += " Choose the photos again."
    messages.error(request, reason)
    machine = _get_machine_for_user(request, machine_id)
    context = _detail_context(request, machine)
    context["kept"] = kept
    if edge_form is not None:
        context["edge_form"] = edge_form
    return render(request, "machines/detail.html", context, status=400)


@login_required
@require_POST
def add_fault_note(request, pk: int):
    fault = _get_fault_for_user(request, pk)
    require(request.user, Action.RESOLVE_FAULT)
    form = FaultNoteForm(request.POST, request.FILES)
    kept = {"fault": fault.pk, "body": request.POST.get("body", "")}
    if not form.is_valid():
        return _refused(request, ValidationError(form.errors), fault.machine_id, kept=kept)
    try:
        services.add_fault_note(fault=fault, author=request.user, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, error, fault.machine_id, kept=kept)
    messages.success(request, "Your note was added.")
    return _back_to(fault.machine_id, f"fault-{fault.pk}")


@login_required
@require_POST
def resolve_fault(request, pk: int):
    fault = _get_fault_for_user(request, pk)
    require(request.user, Action.RESOLVE_FAULT)
    form = ResolveForm(request.POST)
    kept = {"fault": fault.pk, "resolution": request.POST.get("resolution", "")}
    if not form.is_valid():
        return _refused(request, ValidationError(form.errors), fault.machine_id, kept=kept)
    try:
        services.resolve_fault(fault=fault, actor=request.user, resolution=form.cleaned_data["resolution"])
    except ValidationError as error:
        return _refused(request, error, fault.machine_id, kept=kept)
    messages.success(request, "The fault was resolved.")
    return _back_to(fault.machine_id)


@login_required
@require_POST
def assign_fault(request, pk: int):
    """Managers give an open fault (its incident's work order) to a technician, or back to the pool."""
    fault = _get_fault_for_user(request, pk)
    require(request.user, Action.ASSIGN_WORK)
    chosen = request.POST.get("assignee", "")
    assignee = None
    if chosen:
        technicians = selectors.technicians_of(organization=request.organization)
        assignee = technicians.filter(pk=chosen).first() if chosen.isdigit() and len(chosen) < 19 else None
        if assignee is None:
            error = ValidationError({"assignee": "Choose an active technician of your organization."})
            return _refused(request, error, fault.machine_id, kept={})
    try:
        services.assign_fault(fault=fault, actor=request.user, assignee=assignee)
    except ValidationError as error:
        return _refused(request, error, fault.machine_id, kept={})
    if assignee is None:
        messages.success(request, "The fault is back in the pool for any technician to claim.")
    else:
        messages.success(request, f"The fault was assigned to {assignee.display_name}.")
    return _back_to(fault.machine_id, f"fault-{fault.pk}")


@login_required
@require_POST
def add_warning(request, pk: int):
    require(request.user, Action.REPORT_FAULT)
    machine = _get_machine_for_user(request, pk)
    form = WarningForm(request.POST)
    kept = {"message": request.POST.get("message", "")}
    if not form.is_valid():
        error = ValidationError({"message": "Write the warning (at most 300 characters)."})
        return _refused(request, error, pk, kept=kept)
    try:
        services.add_warning(machine=machine, actor=request.user, message=form.cleaned_data["message"])
    except ValidationError as error:
        return _refused(request, error, pk, kept=kept)
    messages.success(request, "The warning was added.")
    return _back_to(pk)


@login_required
@require_POST
def clear_warning(request, pk: int, warning_id: int):
    require(request.user, Action.CLAIM_MAINTENANCE)
    machine = _get_machine_for_user(request, pk)
    warning = selectors.get_warning_or_404(machine=machine, pk=warning_id)
    services.clear_warning(warning=warning, actor=request.user)
    messages.success(request, f"“{warning.message}” was cleared.")
    return _back_to(pk)


@login_required
def photo(request, pk: int, size: str):
    """A fault's photo for anyone of its organization (the machines and their faults are open to all members)."""
    item = selectors.get_photo_or_404(organization=request.organization, pk=pk)
    field, content_type, name = item.served(size)
    return protected_file_response(field, download_name=name, content_type=content_type, inline=True)


# Managers: machines, flows, machine types and integration tokens


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    require(request.user, Action.CREATE_MACHINE)
    form = MachineForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            machine = services.create_machine(actor=request.user, **fields)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"{machine.name} was added.")
            return _back_to(machine.pk)
    return render(request, "machines/form.html", {"form": form, "machine": None}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    machine = _get_machine_for_user(request, pk)
    form = MachineForm(request.POST or None, instance=machine, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_machine(actor=request.user, machine=machine, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "The machine was saved.")
            return _back_to(pk)
    machine = _get_machine_for_user(request, pk)  # The form wrote the posted values onto the first copy.
    return render(request, "machines/form.html", {"form": form, "machine": machine}, status=400 if form.errors else 200)


@login_required
@require_POST
def delete(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    machine = _get_machine_for_user(request, pk)
    services.delete_machine(actor=request.user, machine=machine)
    messages.success(request, f"{machine.name} was deleted with its faults, warnings and history.")
    return redirect("machines:list")


@login_required
@require_POST
def add_edge(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    machine = _get_machine_for_user(request, pk)
    form = EdgeForm(request.POST, machine=machine)
    if not form.is_valid():
        error = ValidationError("Choose another machine of your organization.")
        return _refused(request, error, pk, kept={}, edge_form=EdgeForm(request.POST, machine=machine))
    try:
        services.create_edge(actor=request.user, source=machine, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, error, pk, kept={}, edge_form=EdgeForm(request.POST, machine=machine))
    messages.success(request, f"{machine.name} now feeds {form.cleaned_data['target'].name}.")
    return _back_to(pk, "flows")


@login_required
@require_POST
def delete_edge(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    edge = selectors.get_edge_or_404(organization=request.organization, pk=pk)
    services.delete_edge(actor=request.user, edge=edge)
    messages.success(request, f"The flow from {edge.source.name} to {edge.target.name} was removed.")
    back = request.POST.get("machine")
    return _back_to(edge.target_id if back == str(edge.target_id) else edge.source_id, "flows")


@login_required
@require_http_methods(["GET", "POST"])
def machine_types(request):
    form = MachineTypeForm(request.POST or None)
    if request.method == "POST":
        require(request.user, Action.CREATE_MACHINE)
        if form.is_valid():
            try:
                kind = services.create_machine_type(actor=request.user, **form.service_fields())
            except ValidationError as error:
                apply_validation_error(form, error, default_field="model")
            else:
                messages.success(request, f"The machine type “{kind.name}” was added.")
                return redirect("machines:types")
    context = {
        "machine_types": selectors.machine_types_of(organization=request.organization),
        "form": form,
        "may_manage": can(request.user, Action.CREATE_MACHINE),
    }
    return render(request, "machines/types.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def edit_machine_type(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    kind = selectors.get_machine_type_or_404(organization=request.organization, pk=pk)
    form = MachineTypeForm(request.POST or None, instance=kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_machine_type(actor=request.user, machine_type=kind, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error, default_field="model")
        else:
            messages.success(request, "The machine type was saved.")
            return redirect("machines:types")
    kind = selectors.get_machine_type_or_404(organization=request.organization, pk=pk)
    context = {"form": form, "machine_type": kind}
    return render(request, "machines/type_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def delete_machine_type(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    kind = selectors.get_machine_type_or_404(organization=request.organization, pk=pk)
    try:
        services.delete_machine_type(actor=request.user, machine_type=kind)
    except (ValidationError, ProtectedError):
        messages.error(request, f"Machines of the type “{kind.name}” exist; delete or change them first.")
    else:
        messages.success(request, f"The machine type “{kind.name}” was deleted.")
    return redirect("machines:types")


@login_required
@require_http_methods(["GET", "POST"])
def integration_tokens(request):
    require(request.user, Action.CREATE_MACHINE)
    form = IntegrationTokenForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            token, raw = services.create_integration_token(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            # Shown once, on the next page, then only its hash is left.
            request.session["new_integration_token"] = {"name": token.name, "value": raw}
            return redirect("machines:tokens")
    context = {
        "tokens": selectors.integration_tokens_of(organization=request.organization),
        "form": form,
        "new_token": request.session.pop("new_integration_token", None),
    }
    return render(request, "machines/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def revoke_integration_token(request, pk: int):
    require(request.user, Action.CREATE_MACHINE)
    token = selectors.get_integration_token_or_404(organization=request.organization, pk=pk)
    services.revoke_integration_token(actor=request.user, token=token)
    messages.success(request, f"The token “{token.name}” was revoked; systems using it are refused from now on.")
    return redirect("machines:tokens")


@login_required
@require_GET
def model_viewer_reachable(request):
    """{"reachable": bool}: whether the server reaches sketchfab.com, before a page tries to load a 3D model."""
    response = JsonResponse({"reachable": selectors.sketchfab_reachable()})
    response["Cache-Control"] = "private, max-age=60"
    return response
