"""The home page, "My work": the one page that gathers every app's view of the user.

Like urls.py and api.py this module is a composition root, so it may import the
apps above `nexus`; no app imports it.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors as accounts_selectors
from accounts.models import UserProfile
from activities import selectors as activity_selectors
from chat import services as chat_services
from chat.models import Message
from nexus import notify
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


def _target_url(notification) -> str:
    target = notification.target
    if target is None:
        return ""
    if isinstance(target, Message):
        return reverse("chat:conversation", args=[target.conversation_id]) + f"#message-{target.pk}"
    get_url = getattr(target, "get_absolute_url", None)
    return get_url() if get_url else ""


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
