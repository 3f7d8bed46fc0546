"""Update pages: the feed, one update, writing one, and the files of each. Thin: parse, call, render.

Reactions (like, comment, acknowledge, remind) answer htmx with the re-rendered
part of the page they changed, or 4xx with the reason as text (the page shows it
as a toast); plain form posts redirect back with a flash message, so every action
also works without JavaScript. Whoever may not see an update gets a 404 for it
and its files, never a 403 that would confirm it exists.
"""

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from nexus.dates import absolute_text
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.forms import apply_validation_error
from nexus.permissions import Action, require
from updates import selectors, services
from updates.forms import CommentForm, UpdateForm
from updates.models import Priority, UpdateType


def _get_update_for_user(request, pk):
    """The update with its counts and the viewer's like and acknowledgement; 404 unless they may see it."""
    return selectors.get_update_for_user_or_404(user=request.user, pk=pk)


def _get_managed_update_for_user(request, pk):
    update = _get_update_for_user(request, pk)
    if not services.may_manage(request.user, update):
        raise PermissionDenied("Only the author or an administrator may change this update.")
    return update


# Reading


@login_required
def feed(request):
    filters = selectors.FeedFilters.from_query(request.GET)
    page = selectors.feed(user=request.user, filters=filters, cursor=request.GET.get("cursor"))
    context = {
        "page": page,
        "filters": filters,
        "types": UpdateType.choices,
        "priorities": Priority.choices,
        "filter_query": _query(type=filters.type, priority=filters.priority),
        "next_query": _query(cursor=page.next_cursor, type=filters.type, priority=filters.priority),
    }
    template_name = "updates/feed.html"
    if request.htmx and request.htmx.target == "feed-more":
        template_name = "updates/_feed_page.html"  # The next cards and the next sentinel, in place of this one.
    elif request.htmx and request.htmx.target == "feed-list":
        template_name += "#list"
    return render(request, template_name, context)


def _query(**values) -> str:
    return urlencode({key: value for key, value in values.items() if value})


@login_required
def drafts(request):
    require(request.user, Action.BROADCAST_UPDATE)
    return render(request, "updates/drafts.html", {"updates": selectors.drafts_of(user=request.user)})


def _detail_context(request, update) -> dict:
    may_manage = services.may_manage(request.user, update)
    context = {
        "update": update,
        "comments": selectors.comments_of(update),
        "comment_form": CommentForm(),
        "may_manage": may_manage,
    }
    if may_manage and update.is_published:
        context["acknowledged_receipts"], context["pending_receipts"] = selectors.acknowledgements(update)
    return context


@login_required
def detail(request, pk):
    update = _get_update_for_user(request, pk)
    template_name = "updates/detail.html"
    if (
        request.htmx
        and request.htmx.target == f"update-{update.pk}-receipts"
        and services.may_manage(request.user, update)
    ):
        template_name += "#receipts"
    elif request.htmx and request.htmx.target == "comments" and update.is_published:
        template_name += "#comments"  # Someone commented: the open page reloads the thread only.
    return render(request, template_name, _detail_context(request, update))


# Writing


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    require(request.user, Action.BROADCAST_UPDATE)
    form = UpdateForm(request.POST or None, request.FILES or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        action = form.cleaned_data["action"]
        try:
            update = services.create_update(
                author=request.user,
                draft=form.draft(),
                files=form.cleaned_data["attachments"],
                media=form.media_with_captions(),
                publish=action == "publish",
                publish_at=form.cleaned_data["published_at"] if action == "schedule" else None,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _saved_message(update))
            return redirect("updates:detail", pk=update.pk)
    return render(request, "updates/form.html", {"form": form, "update": None})


def _saved_message(update) -> str:
    if update.is_published:
        return f"“{update.title}” was published."
    if update.is_scheduled:
        return f"“{update.title}” will be published on {absolute_text(update.published_at)}."
    return f"“{update.title}” was saved as a draft."


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    update = _get_managed_update_for_user(request, pk)
    form = UpdateForm(request.POST or None, request.FILES or None, organization=request.organization, update=update)
    if request.method == "POST" and form.is_valid():
        action = form.cleaned_data["action"]
        remove_attachments, remove_media = form.files_to_remove()
        try:
            update = services.edit_update(
                actor=request.user,
                update=update,
                draft=form.draft(),
                files=form.cleaned_data["attachments"],
                media=form.media_with_captions(),
                remove_attachments=remove_attachments,
                remove_media=remove_media,
                then="keep" if action == "save" else action,
                publish_at=form.cleaned_data.get("published_at") if action == "schedule" else None,
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, _saved_message(update) if action != "save" else "The update was saved.")
            return redirect("updates:detail", pk=update.pk)
    return render(request, "updates/form.html", {"form": form, "update": update})


# Actions


def _next_url(request, update) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("updates:detail", args=[update.pk])


def _refused(request, update, error: Exception):
    """A service said no: 400 (invalid) or 403 (not allowed) as text for htmx, else a flash message."""
    reason = error_text(error) if isinstance(error, ValidationError) else str(error)
    if request.htmx:
        return HttpResponse(
            reason, status=403 if isinstance(error, PermissionDenied) else 400, content_type="text/plain; charset=utf-8"
        )
    messages.error(request, reason)
    return redirect(_next_url(request, update) if update is not None else reverse("updates:feed"))


def _partial(request, template_name: str, context: dict, toast: str = ""):
    response = render(request, template_name, context)
    if toast:
        response["HX-Trigger"] = json.dumps({"nexus:toast": toast})
    return response


def _actions_answer(request, pk, message: str = ""):
    """The card's action bar, re-read so its counts are current; or back where the person was."""
    if request.htmx:
        update = _get_update_for_user(request, pk)
        return _partial(request, "updates/_actions.html", {"update": update}, message)
    if message:
        messages.success(request, message)
    return redirect(_next_url(request, _get_update_for_user(request, pk)))


@login_required
@require_POST
def like(request, pk):
    update = _get_update_for_user(request, pk)
    try:
        services.set_like(user=request.user, update=update, liked=request.POST.get("liked", "1") == "1")
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    return _actions_answer(request, pk)


@login_required
@require_POST
def acknowledge(request, pk):
    update = _get_update_for_user(request, pk)
    try:
        services.acknowledge(user=request.user, update=update)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    return _actions_answer(request, pk, "Thank you: you acknowledged the update.")


def _comments_answer(request, update, message: str):
    if request.htmx:
        context = {"update": update, "comments": selectors.comments_of(update), "comment_form": CommentForm()}
        context["may_manage"] = services.may_manage(request.user, update)
        return _partial(request, "updates/detail.html#comments", context, message)
    messages.success(request, message)
    return redirect(reverse("updates:detail", args=[update.pk]) + "#comments")


@login_required
@require_POST
def comment(request, pk):
    update = _get_update_for_user(request, pk)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _refused(
            request,
            update,
            ValidationError(f"Write something first (at most {services.MAX_COMMENT_LENGTH:,} characters)."),
        )
    parent = None
    if form.cleaned_data["parent"]:
        parent = selectors.get_comment_or_404(update=update, pk=form.cleaned_data["parent"])
    try:
        services.add_comment(user=request.user, update=update, content=form.cleaned_data["content"], parent=parent)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    return _comments_answer(request, update, "Your comment was posted.")


@login_required
@require_POST
def delete_comment(request, pk, comment_pk):
    update = _get_update_for_user(request, pk)
    comment = selectors.get_comment_or_404(update=update, pk=comment_pk)
    try:
        services.delete_comment(actor=request.user, comment=comment)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    return _comments_answer(request, update, "The comment was removed.")


@login_required
@require_POST
def remind(request, pk):
    update = _get_update_for_user(request, pk)
    try:
        count = services.remind(actor=request.user, update=update)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    message = f"Reminded {count} {'person' if count == 1 else 'people'} who have not acknowledged."
    if request.htmx:
        update = _get_update_for_user(request, pk)  # Read again: the page shows when the reminder went.
        return _partial(request, "updates/detail.html#receipts", _detail_context(request, update), message)
    messages.success(request, message)
    return redirect("updates:detail", pk=update.pk)


def _go(request, url: str):
    """A whole-page change: htmx follows with HX-Redirect, a plain form post with a redirect."""
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


@login_required
@require_POST
def publish(request, pk):
    update = _get_update_for_user(request, pk)
    try:
        update = services.publish_update(actor=request.user, update=update)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    messages.success(request, f"“{update.title}” was published.")
    return _go(request, reverse("updates:detail", args=[update.pk]))


@login_required
@require_POST
def delete(request, pk):
    update = _get_update_for_user(request, pk)
    try:
        services.delete_update(actor=request.user, update=update)
    except (ValidationError, PermissionDenied) as error:
        return _refused(request, update, error)
    messages.success(request, f"“{update.title}” was deleted.")
    return _go(request, reverse("updates:feed"))


# Files: only to people who can see the update; the ids must belong to it.


@login_required
def attachment(request, pk, file_pk):
    update = _get_update_for_user(request, pk)
    item = _one_of(update.attachments.all(), file_pk)
    return protected_file_response(item.file, download_name=item.filename, content_type=item.mime_type, inline=False)


@login_required
def media(request, pk, file_pk):
    """Images and videos are shown in the page, with the type their content showed when uploaded."""
    update = _get_update_for_user(request, pk)
    item = _one_of(update.media.all(), file_pk)
    return protected_file_response(
        item.media_file, download_name=item.filename, content_type=item.mime_type, inline=True, request=request
    )


@login_required
def thumbnail(request, pk, file_pk):
    update = _get_update_for_user(request, pk)
    item = _one_of(update.media.all(), file_pk)
    return protected_file_response(
        item.thumbnail, download_name="thumbnail.jpg", content_type="image/jpeg", inline=True
    )


def _one_of(items, pk):
    """The prefetched file of the update with this id, or 404."""
    for item in items:
        if item.pk == pk:
            return item
    raise Http404("No such file.")
