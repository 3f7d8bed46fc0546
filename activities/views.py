"""Pages for activities and tags. Thin: parse, call one service or selector, render.

POST endpoints answer htmx requests with 204 and an `HX-Trigger` that makes
the page refresh the parts showing the activity (or 4xx with the reason as
text, which the page shows as a toast); plain form posts redirect back with a
flash message, so every action also works without JavaScript.
"""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from activities import selectors, services
from activities.forms import ActivityForm, AssignForm, CommentForm, PriorityForm, StatusForm, TagForm
from activities.models import ActivityType, Priority, Status
from activities.origins import origins_of
from activities.selectors import SORT_LABELS, ActivityFilters
from nexus.errors import error_text
from nexus.forms import apply_validation_error
from nexus.pagination import CappedPaginator
from nexus.permissions import Action, can, require

PAGE_SIZE = 25
BOARD_MAX_OFFSET = 10_000


def _get_activity_for_user(request, pk):
    return selectors.get_activity_or_404(user=request.user, pk=pk)


def _filters_or_errors(request) -> tuple[ActivityFilters, dict]:
    try:
        return ActivityFilters.from_query(request.GET), {}
    except ValidationError as error:
        return ActivityFilters(), error.message_dict


def _filter_context(request) -> dict:
    return {
        "types": ActivityType.choices,
        "statuses": Status.choices,
        "priorities": Priority.choices,
        "sorts": SORT_LABELS.items(),
        "choices": selectors.filter_choices(organization=request.organization),
    }


@login_required
def activity_list(request):
    require(request.user, Action.VIEW_ACTIVITIES)
    filters, errors = _filters_or_errors(request)
    activities = selectors.ordered_activities(user=request.user, filters=filters)
    page = CappedPaginator(activities, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = selectors.activity_rows(queryset=page.object_list, organization=request.organization)
    context = {"page": page, "filters": filters, "filter_errors": errors, "view": "list"}
    if request.htmx and request.htmx.target == "results":
        template_name = "activities/list.html#results"  # The filter bar stays; it needs no choices.
    else:
        template_name = "activities/list.html"
        context.update(_filter_context(request))
    return render(request, template_name, context, status=400 if errors else 200)


@login_required
def board(request):
    """The board. `?column=<status>&offset=<n>` answers (htmx) the next cards of one column;
    `?shown=<status>:<n>,...` renders more than a page of those columns (a refresh keeps what was loaded)."""
    require(request.user, Action.VIEW_ACTIVITIES)
    filters, errors = _filters_or_errors(request)
    if filters.sort == selectors.DEFAULT_SORT and "sort" not in request.GET:
        filters.sort = "priority"
    column, offset, shown, paging_errors = _board_paging(request.GET)
    errors.update(paging_errors)
    context = {"filters": filters, "filter_errors": errors, "view": "board", "statuses": Status.choices}
    status = 400 if errors else 200
    if column is not None and not errors:
        context["column"] = selectors.board_column_page(
            user=request.user, filters=filters, status=column, offset=offset
        )
        return render(request, "activities/board.html#cards", context)
    context["columns"] = columns = selectors.board_for(user=request.user, filters=filters, shown=shown)
    _add_more_links(columns)
    if request.htmx and request.htmx.target == "board":
        template_name = "activities/board.html#board"
    else:
        template_name = "activities/board.html"
        context.update(_filter_context(request))
    return render(request, template_name, context, status=status)


def _add_more_links(columns: list[dict]) -> None:
    """Each column's `more_shown`: the `shown` value of the same board with a page more of that column.

    It is the "load more" link's target without JavaScript; with it, the link fetches just the next cards.
    """
    loaded = {column["status"]: column["next_offset"] for column in columns}
    for column in columns:
        wanted = {**loaded, column["status"]: loaded[column["status"]] + selectors.BOARD_PAGE_SIZE}
        column["more_shown"] = ",".join(
            f"{status}:{number}" for status, number in wanted.items() if number > selectors.BOARD_PAGE_SIZE
        )


def _board_paging(query) -> tuple[str | None, int, dict[str, int], dict[str, list[str]]]:
    """(column, offset, shown, errors) from the board's query string; see `board`."""
    errors: dict[str, list[str]] = {}
    column = query.get("column") or None
    if column is not None and column not in selectors.BOARD_COLUMNS:
        errors["column"] = [f"Unknown column {column[:50]!r}; choose from {', '.join(selectors.BOARD_COLUMNS)}."]
    offset = 0
    if query.get("offset"):
        try:
            offset = int(query["offset"])
        except ValueError:
            offset = -1
        if not 0 <= offset <= BOARD_MAX_OFFSET:
            errors["offset"] = [f"offset must be a whole number from 0 to {BOARD_MAX_OFFSET}."]
            offset = 0
    shown: dict[str, int] = {}
    for part in filter(None, (query.get("shown") or "").split(",")):
        name, _, number = part.partition(":")
        if name not in selectors.BOARD_COLUMNS or not number.isdigit():
            errors["shown"] = ["shown must list <status>:<number of cards>, separated by commas."]
            break
        shown[name] = int(number)
    return column, offset, shown, errors


def _detail_context(request, activity) -> dict:
    user = request.user
    return {
        "activity": activity,
        "entries": selectors.thread_of(activity=activity),
        "origins": origins_of(activity),
        "comment_form": CommentForm(),
        "status_form": StatusForm(initial={"status": activity.status}),
        "priority_form": PriorityForm(initial={"priority": activity.priority}),
        "assign_form": AssignForm(organization=request.organization, initial={"assigned_to": activity.assigned_to_id}),
        "may_edit": services.may_edit(user, activity),
        "may_change_status": services.may_change_status(user, activity),
        "may_change_priority": services.may_change_priority(user, activity),
        "may_claim": services.may_claim(user, activity),
        "may_assign": can(user, Action.ASSIGN_WORK),
    }


@login_required
def detail(request, pk: int):
    require(request.user, Action.VIEW_ACTIVITIES)
    activity = _get_activity_for_user(request, pk)
    template_name = "activities/detail.html"
    if request.htmx and request.htmx.target == "activity-header":
        template_name += "#header"
    elif request.htmx and request.htmx.target == f"thread-{activity.pk}":
        template_name += "#thread"
    return render(request, template_name, _detail_context(request, activity))


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    require(request.user, Action.CREATE_ACTIVITY)
    form = ActivityForm(request.POST or None, organization=request.organization, initial=_initial_from(request))
    if request.method == "POST" and form.is_valid():
        try:
            activity = services.create_activity(
                organization=request.organization, actor=request.user, **form.service_fields()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"“{activity.title}” was created.")
            return redirect("activities:detail", pk=activity.pk)
    return render(request, "activities/form.html", {"form": form, "activity": None})


def _initial_from(request) -> dict:
    """Prefill a new activity from the query string, e.g. ?type=Maintenance."""
    initial = {}
    if request.GET.get("type") in ActivityType.values:
        initial["type"] = request.GET["type"]
    return initial


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    if not services.may_edit(request.user, activity):
        raise PermissionDenied("Your role may not edit activities.")
    form = ActivityForm(request.POST or None, instance=activity, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        fields = form.service_fields()
        try:
            services.update_activity(
                actor=request.user,
                activity=activity,
                note=fields.pop("note", ""),
                tags=fields.pop("tags"),
                projects=fields.pop("projects"),
                **fields,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "The activity was saved.")
            return redirect("activities:detail", pk=activity.pk)
    # The ModelForm wrote the posted values onto the instance; show the stored ones in the heading.
    activity.refresh_from_db()
    return render(request, "activities/form.html", {"form": form, "activity": activity})


def _done(request, activity, message: str, *, header: bool = True):
    """Answer a successful action: 204 + refresh for htmx, redirect with a flash message otherwise.

    `header=False` (a comment) refreshes the thread but not the activity's own details.
    """
    if request.htmx:
        response = HttpResponse(status=204)
        changed = {"id": activity.pk, "header": header}
        response["HX-Trigger"] = json.dumps({"nexus:activity.changed": changed, "nexus:toast": message})
        return response
    messages.success(request, message)
    return redirect(_next_url(request, activity))


def _refused(request, activity, reason: str, status: int):
    if request.htmx:
        response = HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")
        response["HX-Trigger"] = json.dumps({"nexus:activity.changed": {"id": activity.pk, "header": True}})
        return response
    messages.error(request, reason)
    return redirect(_next_url(request, activity))


def _next_url(request, activity) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("activities:detail", args=[activity.pk])


@login_required
@require_POST
def claim(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    try:
        activity = services.claim_activity(activity=activity, user=request.user)
    except services.AlreadyClaimed as error:
        return _refused(request, activity, error_text(error), 409)
    except ValidationError as error:
        return _refused(request, activity, error_text(error), 400)
    return _done(request, activity, f"You claimed “{activity.title}”.")


@login_required
@require_POST
def change_status(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _refused(request, activity, "Choose one of the listed statuses.", 400)
    try:
        activity = services.change_status(actor=request.user, activity=activity, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, activity, error_text(error), 400)
    return _done(request, activity, f"“{activity.title}” is now {activity.get_status_display()}.")


@login_required
@require_POST
def change_priority(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _refused(request, activity, "Choose one of the listed priorities.", 400)
    try:
        activity = services.change_priority(actor=request.user, activity=activity, **form.cleaned_data)
    except ValidationError as error:
        return _refused(request, activity, error_text(error), 400)
    return _done(request, activity, f"“{activity.title}” now has {activity.get_priority_display()} priority.")


@login_required
@require_POST
def assign(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    form = AssignForm(request.POST, organization=request.organization)
    if not form.is_valid():
        return _refused(request, activity, "Choose an active member of your organization.", 400)
    try:
        activity = services.assign_activity(
            actor=request.user,
            activity=activity,
            assignee=form.cleaned_data["assigned_to"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        return _refused(request, activity, error_text(error), 400)
    who = activity.assigned_to.display_name if activity.assigned_to else "the pool"
    return _done(request, activity, f"“{activity.title}” was given to {who}.")


@login_required
@require_POST
def comment(request, pk: int):
    activity = _get_activity_for_user(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _refused(request, activity, "Write something first (at most 10,000 characters).", 400)
    try:
        services.add_comment(author=request.user, activity=activity, body=form.cleaned_data["body"])
    except ValidationError as error:
        return _refused(request, activity, error_text(error), 400)
    return _done(request, activity, "Your comment was posted.", header=False)


# Tags


@login_required
@require_http_methods(["GET", "POST"])
def tags(request):
    require(request.user, Action.VIEW_ACTIVITIES)
    form = TagForm(request.POST or None)
    if request.method == "POST":
        require(request.user, Action.MANAGE_TAGS)
        if form.is_valid():
            try:
                tag = services.create_tag(actor=request.user, organization=request.organization, **form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error)
            else:
                messages.success(request, f"The tag “{tag.name}” was created.")
                return redirect("activities:tags")
    return render(
        request, "activities/tags.html", {"tags": selectors.tags_of(organization=request.organization), "form": form}
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit_tag(request, pk: int):
    require(request.user, Action.MANAGE_TAGS)
    tag = selectors.get_tag_or_404(user=request.user, pk=pk)
    form = TagForm(request.POST or None, instance=tag)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_tag(actor=request.user, tag=tag, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"The tag “{tag.name}” was saved.")
            return redirect("activities:tags")
    tag.refresh_from_db()
    return render(request, "activities/tag_form.html", {"form": form, "tag": tag})


@login_required
@require_POST
def delete_tag(request, pk: int):
    require(request.user, Action.MANAGE_TAGS)
    tag = selectors.get_tag_or_404(user=request.user, pk=pk)
    services.delete_tag(actor=request.user, tag=tag)
    messages.success(request, f"The tag “{tag.name}” was deleted.")
    return redirect("activities:tags")
