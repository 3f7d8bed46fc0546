"""The home page, "My work": the one page that gathers every app's view of the user.

Like urls.py and api.py this module is a composition root, so it may import the
apps above `nexus`; no app imports it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from notifications.models import Notification

from accounts import selectors as accounts_selectors
from accounts.models import UserProfile
from activities import selectors as activity_selectors
from chat import services as chat_services
from chat.models import Message
from nexus import notifications_api, notify
from nexus.errors import error_text
from nexus.permissions import Action, can
from projects import selectors as project_selectors

LIVE_SECTIONS = ("my-activities", "unclaimed")


@login_required
def home(request):
    user = request.user
    may_claim = can(user, Action.CLAIM_MAINTENANCE)
    # A live refresh asks for one section; render (and query) only that one.
    section = request.htmx.target if request.htmx and request.htmx.target in LIVE_SECTIONS else None
    context = {}
    if section in (None, "my-activities"):
        context["my_activities"] = activity_selectors.open_activities_of(user=user)
    if section in (None, "unclaimed"):
        context["unclaimed"] = activity_selectors.unclaimed_maintenance_for(user=user) if may_claim else None
    if section is None:
        context["my_projects"] = project_selectors.projects_of_member(user=user)
        context["member_count"] = accounts_selectors.members_of(organization=request.organization).count()
    return render(request, f"home.html#{section}" if section else "home.html", context)


# Notifications

# The bell's panel shows this many of the newest; the notifications page has the rest.
BELL_LATEST = 10
BELL_PANEL = "bell-panel"


def _target_url(notification) -> str:
    """The page a notification leads to, or "" when it is about nothing that has one."""
    target = notification.target
    if target is None:
        return ""
    if isinstance(target, Message):
        return reverse("chat:conversation", args=[target.conversation_id]) + f"#message-{target.pk}"
    get_url = getattr(target, "get_absolute_url", None)
    if get_url:
        return get_url()
    # Activities and projects have no get_absolute_url; the API's table knows their pages.
    kind = notification.target_content_type
    page = notifications_api.TARGET_PAGES.get(f"{kind.app_label}.{kind.model}")
    return reverse(page, args=[target.pk]) if page else ""


def _get_notification_for_user(request, pk: int) -> Notification:
    """The viewer's own notification `pk`; anyone else's is a 404, as if it did not exist."""
    return get_object_or_404(Notification, pk=pk, recipient=request.user)


def _actor_name(notification) -> str:
    actor = notification.actor
    if actor is None:
        return settings.SITE_NAME
    return getattr(actor, "display_name", None) or str(actor)


def _summary(notification, actor_name: str) -> str:
    """The description without the actor's name it often starts with, which the panel shows in bold already."""
    text = notification.description or ""
    if actor_name and text.startswith(actor_name + " "):
        return text[len(actor_name) + 1 :]
    if actor_name and text.startswith(actor_name + ": "):
        return text[len(actor_name) + 2 :]
    return text


def _render_bell_panel(request):
    """The bell's dropdown: the newest notifications, read or not, with the unread count."""
    latest = (
        request.user.notifications.select_related("actor_content_type", "target_content_type")
        .prefetch_related("actor", "target")
        .order_by("-timestamp", "-id")[:BELL_LATEST]
    )
    items = []
    for notification in latest:
        actor_name = _actor_name(notification)
        items.append((notification, _target_url(notification), actor_name, _summary(notification, actor_name)))
    context = {"items": items, "unread": notify.unread_count(request.user.pk)}
    return render(request, "includes/bell.html#bell-panel", context)


@login_required
def notifications_bell(request):
    """The bell's panel, loaded by htmx when it opens (so pages do not pay for it)."""
    return _render_bell_panel(request)


@login_required
@require_POST
def mark_notification_read(request, pk: int):
    """Mark one of the viewer's notifications read.

    From the bell (htmx) the answer is the panel again; a plain form post is
    "open it", so it goes on to the notification's page.
    """
    notification = _get_notification_for_user(request, pk)
    notify.mark_notifications_read(user=request.user, ids=[notification.pk])
    if request.htmx:
        return _render_bell_panel(request)
    return redirect(_target_url(notification) or reverse("notifications"))


@login_required
def notifications(request):
    """The bell's page: every notification, newest first, with mark read and the chat preference."""
    show = "unread" if request.GET.get("show") == "unread" else "all"
    queryset = request.user.notifications.all() if show == "all" else request.user.notifications.unread()
    page = Paginator(queryset.prefetch_related("actor", "target").order_by("-timestamp", "-id"), 50).get_page(
        request.GET.get("page")
    )
    items = [(notification, _target_url(notification)) for notification in page.object_list]
    profile = getattr(request.user, "profile", None)
    context = {
        "page": page,
        "items": items,
        "show": show,
        "unread": notify.unread_count(request.user.pk),
        "chat_notifications": profile.chat_notifications if profile else UserProfile.ChatNotifications.MENTIONS,
        "chat_notification_choices": UserProfile.ChatNotifications.choices,
    }
    return render(request, "notifications.html", context)


def _notifications_done(request):
    if request.htmx and request.htmx.target == BELL_PANEL:
        return _render_bell_panel(request)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(request.POST.get("next") or reverse("notifications"))


@login_required
@require_POST
def mark_notifications_read(request):
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    notify.mark_notifications_read(user=request.user, ids=ids)
    return _notifications_done(request)


@login_required
@require_POST
def mark_all_notifications_read(request):
    notify.mark_all_notifications_read(user=request.user)
    return _notifications_done(request)


@login_required
@require_POST
def notification_preferences(request):
    try:
        chat_services.set_chat_notifications(user=request.user, level=request.POST.get("chat_notifications", ""))
    except ValidationError as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, "Saved.")
    return redirect("notifications")
