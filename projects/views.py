from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from nexus.forms import apply_validation_error
from nexus.permissions import Action, require
from projects import selectors, services
from projects.forms import ProjectFilterForm, ProjectForm
from projects.models import Project

PROJECTS_PER_PAGE = 50


def _get_project_for_user(request, pk: int) -> Project:
    """The project if it is of the user's organization; a 404 otherwise, whoever owns it."""
    return selectors.get_project_or_404(user=request.user, pk=pk)


@login_required
def project_list(request):
    require(request.user, Action.VIEW_ACTIVITIES)
    filters = ProjectFilterForm(request.GET)
    # A bad filter is shown as an error on the form and ignored, not guessed around.
    values = filters.cleaned_data if filters.is_valid() else {}
    projects = selectors.projects_for(user=request.user, status=values.get("status"), q=values.get("q", ""))
    page = Paginator(projects, PROJECTS_PER_PAGE).get_page(request.GET.get("page"))
    template_name = "projects/list.html"
    if request.htmx:
        template_name += "#results"
    return render(
        request,
        template_name,
        {"filters": filters, "projects": page.object_list, "page": page},
    )


@login_required
def project_detail(request, pk: int):
    require(request.user, Action.VIEW_ACTIVITIES)
    project = _get_project_for_user(request, pk)
    return render(
        request,
        "projects/detail.html",
        {"project": project, "timeline": selectors.project_timeline(project=project)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    require(request.user, Action.CREATE_PROJECT)
    form = ProjectForm(request.POST or None, organization=request.organization, initial={"manager": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            project = services.create_project(actor=request.user, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"The project “{project.name}” was created.")
            return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/form.html", {"form": form, "project": None})


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request, pk: int):
    require(request.user, Action.CREATE_PROJECT)
    project = _get_project_for_user(request, pk)
    # The form works on its own copy, so the page keeps the saved name while it shows errors.
    form = ProjectForm(request.POST or None, organization=request.organization, instance=Project.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.update_project(actor=request.user, project=project, **form.service_fields())
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"The project “{form.cleaned_data['name']}” was saved.")
            return redirect("projects:detail", pk=project.pk)
    return render(request, "projects/form.html", {"form": form, "project": project})
