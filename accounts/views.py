from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import AcceptInvitationForm, ApiTokenForm, InvitationForm, OrganizationForm, ProfileForm, RoleForm
from accounts.models import Invitation, Organization, hash_secret
from nexus.forms import apply_validation_error
from nexus.permissions import Action, Role, require


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    current = services.ensure_profile(user=user)
    if request.method == "POST":
        form = ProfileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.update_profile(user=user, **form.cleaned_data)
            except ValidationError as error:
                apply_validation_error(form, error, default_field="avatar")
                user.refresh_from_db()
            else:
                messages.success(request, "Your profile was saved.")
                return redirect("profile")
    else:
        form = ProfileForm(
            initial={
                "first_name": user.first_name,
                "last_name": user.last_name,
                "phone": current.phone,
                "department": current.department,
                "position": current.position,
            }
        )
    return render(
        request,
        "accounts/profile.html",
        {
            "form": form,
            "profile": current,
            "token_form": ApiTokenForm(),
            "tokens": selectors.tokens_of(user=user),
            "new_token": request.session.pop("new_api_token", None),
        },
    )


@login_required
def avatar(request, user_id: int, size: str):
    """An avatar, served only to members of the same organization."""
    if size not in ("thumb", "full"):
        raise Http404("No such size.")
    member = selectors.get_member_or_404(organization=request.organization, pk=user_id)
    profile = getattr(member, "profile", None)
    image = None if profile is None else (profile.avatar_thumbnail if size == "thumb" else profile.avatar)
    if not image:
        raise Http404("No picture.")
    response = FileResponse(image.open("rb"), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def create_token(request):
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = services.create_api_token(user=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
        else:
            # Shown once on the next page, then gone: only the hash is stored.
            request.session["new_api_token"] = {"name": token.name, "value": raw}
    else:
        messages.error(
            request,
            "The token was not created: "
            + "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()),
        )
    return redirect("profile")


@login_required
@require_POST
def revoke_token(request, token_id: int):
    token = selectors.tokens_of(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such token.")
    services.revoke_api_token(user=request.user, token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("profile")


@login_required
def people(request):
    members = selectors.members_of(organization=request.organization, include_inactive=True)
    return render(request, "accounts/people.html", {"members": members, "roles": Role.choices})


@login_required
@require_http_methods(["GET", "POST"])
def manage(request):
    """The organization's admin panel: settings, invitations, roles."""
    require(request.user, Action.MANAGE_ORGANIZATION)
    organization = Organization.objects.get(pk=request.organization.pk)
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_organization(
                actor=request.user, organization=Organization.objects.get(pk=organization.pk), **form.service_fields()
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, "The organization's settings were saved.")
            return redirect("manage")
    return render(
        request,
        "accounts/manage.html",
        {
            "form": form,
            "invitation_form": InvitationForm(),
            "invitations": selectors.invitations_of(organization=request.organization)[:50],
            "members": selectors.members_of(organization=request.organization, include_inactive=True),
            "roles": Role.choices,
        },
    )


@login_required
@require_POST
def invite(request):
    require(request.user, Action.INVITE_USERS)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, _ = services.invite_user(inviter=request.user, **form.cleaned_data)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"An invitation was sent to {invitation.email}.")
    else:
        messages.error(
            request, "The invitation was not sent: " + " ".join(" ".join(errs) for errs in form.errors.values())
        )
    return redirect("manage")


@login_required
@require_POST
def revoke_invitation(request, invitation_id: int):
    require(request.user, Action.INVITE_USERS)
    invitation = selectors.get_invitation_or_404(organization=request.organization, pk=invitation_id)
    try:
        services.revoke_invitation(actor=request.user, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("manage")


@login_required
@require_POST
def change_role(request, user_id: int):
    require(request.user, Action.MANAGE_USERS)
    member = selectors.get_member_or_404(organization=request.organization, pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the listed roles.")
        return redirect("manage")
    try:
        services.change_role(actor=request.user, member=member, role=form.cleaned_data["role"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member.display_name} is now {Role(form.cleaned_data['role']).label}.")
    return redirect("manage")


@login_required
@require_POST
def set_active(request, user_id: int):
    require(request.user, Action.MANAGE_USERS)
    member = selectors.get_member_or_404(organization=request.organization, pk=user_id)
    is_active = request.POST.get("is_active") == "1"
    try:
        services.set_member_active(actor=request.user, member=member, is_active=is_active)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        state = "reactivated" if is_active else "deactivated"
        messages.success(request, f"{member.display_name} was {state}.")
    return redirect("manage")


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    invitation = Invitation.objects.select_related("organization").filter(token_hash=hash_secret(token)).first()
    if invitation is None or not invitation.is_pending:
        return render(request, "accounts/invitation_invalid.html", {"invitation": invitation}, status=410)
    if request.user.is_authenticated:
        messages.info(request, "Log out first to accept an invitation for another account.")
        return redirect("home")
    form = AcceptInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.accept_invitation(
                raw_token=token,
                username=data["username"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        except ValidationError as error:
            apply_validation_error(form, error, default_field="password")
        else:
            login(request, user, backend="accounts.backends.ModelBackend")
            messages.success(request, f"Welcome to {user.organization.name}!")
            return redirect("home")
    return render(request, "accounts/accept_invitation.html", {"form": form, "invitation": invitation})
