"""Chat pages. Thin: parse, call one service or selector, render.

Actions answer htmx with 204 (what changed reaches every open tab over the
socket, the acting one included) or 4xx with the reason as text, which the
page shows as a toast; plain form posts redirect back with a flash message,
so chat also works without JavaScript (minus the live parts).
"""

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from chat import presence, selectors, services
from chat.forms import ChannelForm, GroupForm, MessageForm, SystemMessageForm
from chat.models import Conversation, SystemMessage
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.forms import apply_validation_error
from nexus.permissions import Action, can, require
from nexus.tenancy import get_for_org_or_404, scoped


def _get_conversation_for_user(request, pk) -> Conversation:
    return selectors.get_conversation_or_404(user=request.user, pk=pk)


def _get_message_for_user(request, pk):
    return selectors.get_message_or_404(user=request.user, pk=pk)


def _ok(request, message: str = "", to: str | None = None):
    if request.htmx:
        return HttpResponse(status=204)
    if message:
        flash.success(request, message)
    return redirect(to or request.META.get("HTTP_REFERER") or reverse("chat:index"))


def _refused(request, reason: str, status: int = 400, to: str | None = None):
    if request.htmx:
        return HttpResponse(reason, status=status, content_type="text/plain; charset=utf-8")
    flash.error(request, reason)
    return redirect(to or request.META.get("HTTP_REFERER") or reverse("chat:index"))


def _attempt(request, action, *, to: str | None = None):
    """Call a service; None when it acted, else the answer that says why it refused."""
    try:
        action()
    except ValidationError as error:
        return _refused(request, error_text(error), to=to)
    except PermissionDenied as error:
        return _refused(request, str(error), 403, to=to)
    return None


def _page_context(request, current: Conversation | None = None) -> dict:
    items = selectors.conversations_for(user=request.user)
    people = scoped(User, request.organization).filter(is_active=True).exclude(pk=request.user.pk)
    people = people.order_by("first_name", "username")
    return {
        "items": items,
        "current": current,
        "channels_to_join": selectors.channels_to_join(user=request.user)[:50],
        "people": people,
        **_presence_context([person.pk for person in people] + [request.user.pk]),
        "total_unread": selectors.total_of({item.conversation.pk: (item.unread, item.muted) for item in items}),
        "group_form": GroupForm(organization=request.organization),
        "channel_form": ChannelForm(),
    }


def _presence_context(user_ids: list[int]) -> dict:
    """Who of them is online; with Redis unreachable nobody is shown online or away, but "unknown"."""
    online = presence.online_ids(user_ids)
    return {"online": online or set(), "presence_unknown": online is None}


@login_required
def index(request):
    require(request.user, Action.CHAT)
    context = _page_context(request)
    if context["items"] and not request.GET.get("list"):
        return redirect("chat:conversation", pk=context["items"][0].conversation.pk)
    return render(request, "chat/index.html", context)


@login_required
def conversation(request, pk):
    require(request.user, Action.CHAT)
    current = _get_conversation_for_user(request, pk)
    membership = selectors.membership_of(user=request.user, conversation=current)
    page = selectors.messages_page(conversation=current)
    context = _page_context(request, current)
    members = list(selectors.members_of(conversation=current)) if not current.is_channel or membership else []
    first_unread = selectors.first_unread_id(membership=membership)
    if first_unread and page.items and first_unread < page.items[0].pk:
        first_unread = page.items[0].pk  # Unread goes back further than the page: the divider opens it.
    context.update(
        {
            "membership": membership,
            "title": selectors.title_for(current, request.user.pk),
            "page": page.items,
            "has_older": page.has_older,
            "seen_up_to": selectors.last_read_of_others(conversation=current, user=request.user),
            "first_unread": first_unread,
            "members": members,
            "member_count": len(members) if members else current.memberships.count(),
            "form": MessageForm(),
            "last_message_id": current.messages.order_by("-id").values_list("id", flat=True).first() or 0,
        }
    )
    return render(request, "chat/conversation.html", context)


@login_required
def sidebar(request, pk):
    """The conversation list alone, for htmx to refresh when the person joins or leaves one."""
    require(request.user, Action.CHAT)
    current = _get_conversation_for_user(request, pk) if pk else None
    return render(request, "chat/_sidebar.html", _page_context(request, current))


@login_required
@require_http_methods(["GET", "POST"])
def messages(request, pk):
    """GET: a page of history (before=<id> older, after=<id> newer). POST: send a message, with a file or not."""
    require(request.user, Action.CHAT)
    current = _get_conversation_for_user(request, pk)
    if request.method == "GET":
        try:
            before = int(request.GET["before"]) if "before" in request.GET else None
            after = int(request.GET["after"]) if "after" in request.GET else None
        except ValueError:
            return HttpResponse("before and after are message ids.", status=400, content_type="text/plain")
        if selectors.membership_of(user=request.user, conversation=current) is None and not current.is_channel:
            raise Http404("No such conversation.")
        page = selectors.messages_page(conversation=current, before=before, after=after)
        # The "load older" button belongs only to pages read backwards.
        context = {"page": page.items, "current": current, "has_older": before is not None and page.has_older}
        return render(request, "chat/_history.html", context)
    form = MessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(request, "; ".join(" ".join(errors) for errors in form.errors.values()))
    parent = None
    if form.cleaned_data.get("parent"):
        parent = _get_message_for_user(request, form.cleaned_data["parent"])
    refused = _attempt(
        request,
        lambda: services.send_message(
            sender=request.user,
            conversation=current,
            content=form.cleaned_data["content"],
            parent=parent,
            upload=form.cleaned_data.get("file"),
        ),
    )
    if refused:
        return refused
    return _ok(request, to=reverse("chat:conversation", args=[current.pk]))


@login_required
@require_POST
def read(request, pk):
    current = _get_conversation_for_user(request, pk)
    value = request.POST.get("up_to") or ""
    if value and not value.isdigit():
        return _refused(request, "up_to is a message id.")
    up_to = int(value) if value else None
    if refused := _attempt(request, lambda: services.mark_read(user=request.user, conversation=current, up_to=up_to)):
        return refused
    return _ok(request, to=reverse("chat:conversation", args=[current.pk]))


@login_required
@require_POST
def join(request, pk):
    current = _get_conversation_for_user(request, pk)
    if refused := _attempt(request, lambda: services.join_channel(user=request.user, conversation=current)):
        return refused
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("chat:conversation", args=[current.pk])
        return response
    return redirect("chat:conversation", pk=current.pk)


@login_required
@require_POST
def leave(request, pk):
    current = _get_conversation_for_user(request, pk)
    if refused := _attempt(request, lambda: services.leave_conversation(user=request.user, conversation=current)):
        return refused
    flash.success(request, f"You left {selectors.title_for(current, request.user.pk)}.")
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("chat:index") + "?list=1"
        return response
    return redirect(reverse("chat:index") + "?list=1")


@login_required
@require_POST
def mute(request, pk):
    current = _get_conversation_for_user(request, pk)
    muted = request.POST.get("muted") in ("1", "true", "on")
    if refused := _attempt(request, lambda: services.set_muted(user=request.user, conversation=current, muted=muted)):
        return refused
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect("chat:conversation", pk=current.pk)


@login_required
@require_POST
def add_members(request, pk):
    current = _get_conversation_for_user(request, pk)
    ids = request.POST.getlist("members")
    try:
        people = [get_for_org_or_404(User, request.organization, pk=value) for value in ids]
        added = services.add_members(actor=request.user, conversation=current, people=people)
    except Http404:
        return _refused(request, "Choose people of your organization.")
    except ValidationError as error:
        return _refused(request, error_text(error))
    except PermissionDenied as error:
        return _refused(request, str(error), 403)
    return _ok(request, f"Added {len(added)}.", to=reverse("chat:conversation", args=[current.pk]))


@login_required
def direct(request, user_id):
    """Open (creating when needed) the direct conversation with someone."""
    require(request.user, Action.CHAT)
    other = get_for_org_or_404(User, request.organization, pk=user_id)
    try:
        conversation = services.get_or_create_direct(user=request.user, other=other)
    except ValidationError as error:
        return _refused(request, error_text(error), to=reverse("chat:index") + "?list=1")
    return redirect("chat:conversation", pk=conversation.pk)


@login_required
@require_POST
def new_group(request):
    require(request.user, Action.CHAT)
    form = GroupForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            group = services.create_group(
                actor=request.user, name=form.cleaned_data["name"], members=form.cleaned_data["members"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect("chat:conversation", pk=group.pk)
    context = _page_context(request)
    context["group_form"] = form
    return render(request, "chat/index.html", context, status=400)


@login_required
@require_POST
def new_channel(request):
    require(request.user, Action.CHAT)
    form = ChannelForm(request.POST)
    if form.is_valid():
        try:
            channel = services.create_channel(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            return redirect("chat:conversation", pk=channel.pk)
    context = _page_context(request)
    context["channel_form"] = form
    return render(request, "chat/index.html", context, status=400)


@login_required
def thread(request, pk):
    message = _get_message_for_user(request, pk)
    root, replies = selectors.thread_of(message=message)
    membership = selectors.membership_of(user=request.user, conversation=root.conversation)
    context = {"root": root, "replies": replies, "current": root.conversation, "membership": membership}
    template = "chat/_thread.html" if request.htmx else "chat/thread.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk):
    message = _get_message_for_user(request, pk)
    if message.sender_id != request.user.pk:
        return _refused(request, "Only the sender may edit a message.", 403)
    if request.method == "GET":
        return render(request, "chat/_edit.html", {"message": message})
    content = request.POST.get("content", "")
    if refused := _attempt(
        request, lambda: services.edit_message(actor=request.user, message=message, content=content)
    ):
        return refused
    return _ok(request, to=reverse("chat:conversation", args=[message.conversation_id]))


@login_required
@require_POST
def delete(request, pk):
    message = _get_message_for_user(request, pk)
    if refused := _attempt(request, lambda: services.delete_message(actor=request.user, message=message)):
        return refused
    return _ok(request, "Message deleted.", to=reverse("chat:conversation", args=[message.conversation_id]))


@login_required
@require_POST
def react(request, pk):
    message = _get_message_for_user(request, pk)
    emoji = request.POST.get("emoji", "")
    if refused := _attempt(request, lambda: services.toggle_reaction(user=request.user, message=message, emoji=emoji)):
        return refused
    return _ok(request, to=reverse("chat:conversation", args=[message.conversation_id]))


@login_required
def attachment(request, pk):
    """The file of a message, to the people who can see the message. Only images show inline."""
    message = _get_message_for_user(request, pk)
    inline = message.type == message.Type.IMAGE
    content_type = message.attachment_type if inline else "application/octet-stream"
    return protected_file_response(
        message.attachment, download_name=message.attachment_name, content_type=content_type, inline=inline
    )


@login_required
def thumbnail(request, pk):
    message = _get_message_for_user(request, pk)
    return protected_file_response(
        message.thumbnail, download_name="thumbnail.jpg", content_type="image/jpeg", inline=True
    )


@login_required
def search(request):
    require(request.user, Action.CHAT)
    query = request.GET.get("q", "")
    results = selectors.search_messages(user=request.user, query=query)
    return render(request, "chat/search.html", {"query": query, "results": results})


# System messages


@login_required
@require_http_methods(["GET", "POST"])
def system_messages(request):
    """Managers raise banners for everyone or for chosen people, and take them down."""
    require(request.user, Action.BROADCAST_UPDATE)
    form = SystemMessageForm(request.POST or None, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_system_message(actor=request.user, organization=request.organization, **form.cleaned_data)
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            flash.success(request, "The message is up.")
            return redirect("chat:system-messages")
    context = {
        "form": form,
        "system_messages": selectors.system_messages_of(organization=request.organization)[:100],
        "now": timezone.now(),
    }
    return render(request, "chat/system_messages.html", context, status=400 if form.errors else 200)


def _get_system_message_for_user(request, pk) -> SystemMessage:
    return get_for_org_or_404(SystemMessage, request.organization, pk=pk)


@login_required
@require_POST
def dismiss_system_message(request, pk):
    system_message = _get_system_message_for_user(request, pk)
    try:
        services.dismiss_system_message(user=request.user, system_message=system_message)
    except PermissionDenied:
        raise Http404("No such message.") from None
    return _ok(request)


@login_required
@require_POST
def expire_system_message(request, pk):
    system_message = _get_system_message_for_user(request, pk)
    if refused := _attempt(
        request, lambda: services.expire_system_message(actor=request.user, system_message=system_message)
    ):
        return refused
    return _ok(request, "Taken down.", to=reverse("chat:system-messages"))


@login_required
def banners(request):
    """The person's current banners (what the socket pushes on connect), for pages without JavaScript too."""
    if not can(request.user, Action.CHAT):
        return HttpResponse("")
    return render(request, "chat/_banners.html", {"banners": selectors.system_messages_for(user=request.user)[:20]})
