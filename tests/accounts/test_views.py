"""The accounts pages: home, profile, tokens, people, avatars and the admin panel."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts import services
from accounts.models import ApiToken, Invitation, Organization, User, UserProfile, hash_secret
from nexus.permissions import Role
from tests.accounts.images import png_upload, upload

pytestmark = pytest.mark.django_db

NOT_ADMINS = ["maria", "bob", "carol"]


def _refetch(user: User) -> User:
    return User.objects.get(pk=user.pk)


@pytest.fixture
def invitation(alice):
    invitation, _ = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    return invitation


@pytest.fixture
def carol_with_avatar(carol):
    services.update_profile(user=carol, first_name="Carol", last_name="", avatar=png_upload(size=(200, 150)))
    return carol


# Anonymous visitors


@pytest.mark.parametrize(
    ("name", "args", "method"),
    [
        ("home", [], "get"),
        ("profile", [], "get"),
        ("profile", [], "post"),
        ("create_token", [], "post"),
        ("revoke_token", [1], "post"),
        ("people", [], "get"),
        ("avatar", [1, "thumb"], "get"),
        ("manage", [], "get"),
        ("manage", [], "post"),
        ("invite", [], "post"),
        ("revoke_invitation", [1], "post"),
        ("change_role", [1], "post"),
        ("set_active", [1], "post"),
    ],
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, name, args, method):
    url = reverse(name, args=args)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={url}"


def test_it_shows_an_invitation_to_anonymous_visitors(client, alice):
    _, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.MANAGER)
    response = client.get(reverse("accept_invitation", args=[raw]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "Join Acme Manufacturing" in content
    assert "new.person@example.com" in content


def test_it_answers_410_for_an_unknown_invitation_link(client):
    response = client.get(reverse("accept_invitation", args=["no-such-token"]))
    assert response.status_code == 410
    assert "cannot be used" in response.content.decode()


def test_it_accepts_an_invitation_and_logs_the_new_person_in(client, alice, acme):
    _, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.TECHNICIAN)
    password = "a-long-and-unusual-passphrase"
    response = client.post(
        reverse("accept_invitation", args=[raw]),
        {"username": "newbie", "first_name": "Nia", "password": password, "password_again": password},
    )
    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get(username="newbie")
    assert (user.organization, user.role) == (acme, Role.TECHNICIAN)
    assert client.get(reverse("home")).context["user"] == user
    # The link is spent.
    assert client.get(reverse("accept_invitation", args=[raw])).status_code == 410


def test_it_asks_a_logged_in_person_to_log_out_before_accepting(client_for, alice, carol):
    _, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    response = client_for(carol).post(
        reverse("accept_invitation", args=[raw]),
        {"username": "newbie", "password": "a-long-passphrase", "password_again": "a-long-passphrase"},
    )
    assert response.status_code == 302
    assert not User.objects.filter(username="newbie").exists()


# Home


def test_it_shows_the_home_page_with_the_active_member_count(client_for, alice, bob, carol, mallory):
    services.set_member_active(actor=alice, member=bob, is_active=False)
    response = client_for(carol).get(reverse("home"))
    assert response.status_code == 200
    assert response.context["member_count"] == 2
    assert "Acme Manufacturing" in response.content.decode()


@pytest.mark.parametrize(("persona", "sees_admin_link"), [("alice", True), ("maria", False), ("carol", False)])
def test_it_links_the_admin_panel_for_admins_only(request, client_for, persona, sees_admin_link):
    user = request.getfixturevalue(persona)
    content = client_for(user).get(reverse("home")).content.decode()
    assert (f'href="{reverse("manage")}"' in content) is sees_admin_link


# Role limits


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_it_forbids_the_admin_panel_to_others(request, client_for, persona, acme):
    client = client_for(request.getfixturevalue(persona))
    assert client.get(reverse("manage")).status_code == 403
    response = client.post(
        reverse("manage"),
        {"name": "Hijacked", "time_zone": "UTC", "escalation_minutes": 5, "corporate_id": "", "contact_email": ""},
    )
    assert response.status_code == 403
    acme.refresh_from_db()
    assert acme.name == "Acme Manufacturing"


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_it_forbids_inviting_to_others(request, client_for, persona, django_capture_on_commit_callbacks):
    client = client_for(request.getfixturevalue(persona))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("invite"), {"email": "new.person@example.com", "role": Role.ADMIN})
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_it_forbids_revoking_invitations_to_others(request, client_for, persona, invitation):
    client = client_for(request.getfixturevalue(persona))
    assert client.post(reverse("revoke_invitation", args=[invitation.pk])).status_code == 403
    invitation.refresh_from_db()
    assert invitation.state == "pending"


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_it_forbids_changing_roles_to_others(request, client_for, persona, alice, carol):
    actor = request.getfixturevalue(persona)
    client = client_for(actor)
    assert client.post(reverse("change_role", args=[actor.pk]), {"role": Role.ADMIN}).status_code == 403
    assert client.post(reverse("change_role", args=[alice.pk]), {"role": Role.STAFF}).status_code == 403
    assert _refetch(actor).role == actor.role
    assert _refetch(alice).role == Role.ADMIN


@pytest.mark.parametrize("persona", NOT_ADMINS)
def test_it_forbids_deactivating_to_others(request, client_for, persona, alice):
    client = client_for(request.getfixturevalue(persona))
    assert client.post(reverse("set_active", args=[alice.pk]), {"is_active": "0"}).status_code == 403
    assert _refetch(alice).is_active is True


# What admins do


def test_it_invites_from_the_admin_panel(client_for, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(
            reverse("invite"), {"email": "New.Person@example.com", "role": Role.TECHNICIAN}, follow=True
        )
    assert response.redirect_chain == [(reverse("manage"), 302)]
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.state) == (
        "new.person@example.com",
        Role.TECHNICIAN,
        "pending",
    )
    assert len(mail.outbox) == 1
    content = response.content.decode()
    assert "An invitation was sent to new.person@example.com." in content
    assert "new.person@example.com" in content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "not-an-address", "role": Role.STAFF}, "The invitation was not sent"),
        ({"email": "someone@example.com", "role": "overlord"}, "The invitation was not sent"),
        ({"email": "carol@example.com", "role": Role.STAFF}, "already has an account"),
    ],
)
def test_it_reports_a_rejected_invitation(client_for, alice, carol, data, message, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(reverse("invite"), data, follow=True)
    assert message in response.content.decode()
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_revokes_an_invitation(client_for, alice, invitation):
    response = client_for(alice).post(reverse("revoke_invitation", args=[invitation.pk]))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.state == "revoked"


def test_it_changes_a_role_from_the_admin_panel(client_for, alice, carol):
    response = client_for(alice).post(reverse("change_role", args=[carol.pk]), {"role": Role.MANAGER}, follow=True)
    assert _refetch(carol).role == Role.MANAGER
    assert "is now Manager" in response.content.decode()


@pytest.mark.parametrize("role", ["overlord", ""])
def test_it_refuses_an_unknown_role_from_the_admin_panel(client_for, alice, carol, role):
    response = client_for(alice).post(reverse("change_role", args=[carol.pk]), {"role": role}, follow=True)
    assert "Choose one of the listed roles." in response.content.decode()
    assert _refetch(carol).role == Role.STAFF


def test_it_refuses_to_demote_the_last_admin_from_the_admin_panel(client_for, alice):
    response = client_for(alice).post(reverse("change_role", args=[alice.pk]), {"role": Role.STAFF}, follow=True)
    assert "at least one active admin" in response.content.decode()
    assert _refetch(alice).role == Role.ADMIN


def test_it_deactivates_and_reactivates_from_the_admin_panel(client_for, alice, bob):
    client = client_for(alice)
    client.post(reverse("set_active", args=[bob.pk]), {"is_active": "0"})
    assert _refetch(bob).is_active is False
    client.post(reverse("set_active", args=[bob.pk]), {"is_active": "1"})
    assert _refetch(bob).is_active is True


def test_it_refuses_self_deactivation_from_the_admin_panel(client_for, alice):
    response = client_for(alice).post(reverse("set_active", args=[alice.pk]), {"is_active": "0"}, follow=True)
    assert "cannot deactivate yourself" in response.content.decode()
    assert _refetch(alice).is_active is True


# Organization boundary


def test_it_hides_another_organizations_avatar(client_for, carol_with_avatar, mallory):
    client = client_for(mallory)
    for size in ("thumb", "full"):
        assert client.get(reverse("avatar", args=[carol_with_avatar.pk, size])).status_code == 404


def test_it_hides_another_organizations_people_from_role_changes(client_for, mallory, alice, carol):
    response = client_for(mallory).post(reverse("change_role", args=[carol.pk]), {"role": Role.ADMIN})
    assert response.status_code == 404
    assert _refetch(carol).role == Role.STAFF


def test_it_hides_another_organizations_people_from_deactivation(client_for, mallory, alice):
    response = client_for(mallory).post(reverse("set_active", args=[alice.pk]), {"is_active": "0"})
    assert response.status_code == 404
    assert _refetch(alice).is_active is True


def test_it_hides_another_organizations_invitations(client_for, mallory, invitation):
    response = client_for(mallory).post(reverse("revoke_invitation", args=[invitation.pk]))
    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_it_lists_only_the_own_organizations_people(client_for, mallory, alice, maria, bob, carol):
    response = client_for(mallory).get(reverse("people"))
    assert response.status_code == 200
    assert list(response.context["members"]) == [mallory]
    content = response.content.decode()
    for outsider in (alice, maria, bob, carol):
        assert f"@{outsider.username}<" not in content
        assert outsider.email not in content
    assert "Acme" not in content


def test_it_shows_the_admin_panel_of_the_own_organization_only(client_for, mallory, alice, invitation):
    response = client_for(mallory).get(reverse("manage"))
    assert response.status_code == 200
    assert list(response.context["members"]) == [mallory]
    assert list(response.context["invitations"]) == []
    content = response.content.decode()
    assert alice.email not in content and invitation.email not in content


# People


def test_it_lists_members_with_their_profile_and_inactive_ones_marked(client_for, alice, bob, carol):
    services.update_profile(user=bob, first_name="Bob", last_name="Builder", phone="+49 30 42", position="Fitter")
    services.set_member_active(actor=alice, member=carol, is_active=False)
    response = client_for(bob).get(reverse("people"))
    assert [member.username for member in response.context["members"]] == ["alice", "bob", "carol"]
    content = response.content.decode()
    assert "Bob Builder" in content and "+49 30 42" in content and "Fitter" in content
    assert "inactive</span>" in content


@pytest.mark.parametrize(("persona", "sees_invite"), [("alice", True), ("maria", False), ("bob", False)])
def test_it_offers_inviting_on_the_people_page_to_admins_only(request, client_for, persona, sees_invite):
    content = client_for(request.getfixturevalue(persona)).get(reverse("people")).content.decode()
    assert ("Invite someone" in content) is sees_invite


# Profile


def _profile_data(**overrides):
    return {
        "first_name": "Carol",
        "last_name": "Carter",
        "phone": "+49 30 1234",
        "department": "Assembly",
        "position": "Line operator",
    } | overrides


def test_it_saves_the_profile(client_for, carol):
    response = client_for(carol).post(reverse("profile"), _profile_data(), follow=True)
    assert response.redirect_chain == [(reverse("profile"), 302)]
    assert "Your profile was saved." in response.content.decode()
    carol = _refetch(carol)
    profile = UserProfile.objects.get(user=carol)
    assert (carol.first_name, carol.last_name) == ("Carol", "Carter")
    assert (profile.phone, profile.department, profile.position) == ("+49 30 1234", "Assembly", "Line operator")


def test_it_prefills_the_profile_form(client_for, carol):
    services.update_profile(user=carol, first_name="Carol", last_name="Carter", department="Assembly")
    form = client_for(carol).get(reverse("profile")).context["form"]
    assert form.initial["last_name"] == "Carter"
    assert form.initial["department"] == "Assembly"


def test_it_shows_a_bad_phone_number_on_its_field_without_saving(client_for, carol):
    client = client_for(carol)
    client.post(reverse("profile"), _profile_data())
    response = client.post(reverse("profile"), _profile_data(first_name="Changed", phone="call me", department="X"))
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert "Enter a phone number" in response.content.decode()
    carol = _refetch(carol)
    assert carol.first_name == "Carol"
    assert UserProfile.objects.get(user=carol).department == "Assembly"


def test_it_saves_an_avatar_from_the_profile_form(client_for, carol):
    client = client_for(carol)
    client.post(reverse("profile"), _profile_data(avatar=png_upload(size=(300, 300))))
    profile = UserProfile.objects.get(user=carol)
    assert profile.avatar and profile.avatar_thumbnail
    content = client.get(reverse("profile")).content.decode()
    assert reverse("avatar", args=[carol.pk, "thumb"]) in content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"definitely not a picture", "not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not a readable image"),
    ],
)
def test_it_shows_a_bad_avatar_on_its_field_without_saving(client_for, carol_with_avatar, content, message):
    before = UserProfile.objects.get(user=carol_with_avatar)
    response = client_for(carol_with_avatar).post(
        reverse("profile"), _profile_data(first_name="Changed", department="Changed", avatar=upload(content))
    )
    assert response.status_code == 200
    assert "not a readable image" in " ".join(response.context["form"].errors["avatar"])
    after = UserProfile.objects.get(user=carol_with_avatar)
    assert (after.avatar.name, after.avatar_thumbnail.name, after.department) == (
        before.avatar.name,
        before.avatar_thumbnail.name,
        before.department,
    )
    assert _refetch(carol_with_avatar).first_name == "Carol"
    # The page shows the saved name, not the rejected one.
    assert response.context["user"].first_name == "Carol"


def test_it_rejects_an_oversized_avatar_from_the_profile_form(client_for, carol, settings):
    settings.NEXUS_AVATAR_MAX_BYTES = 512
    response = client_for(carol).post(reverse("profile"), _profile_data(avatar=upload(b"\0" * 1024)))
    assert response.status_code == 200
    assert "too large" in " ".join(response.context["form"].errors["avatar"])
    assert not UserProfile.objects.get(user=carol).avatar


def test_it_removes_the_avatar_from_the_profile_form(client_for, carol_with_avatar):
    client_for(carol_with_avatar).post(reverse("profile"), _profile_data(remove_avatar="on"))
    assert not UserProfile.objects.get(user=carol_with_avatar).avatar


# Avatars


@pytest.mark.parametrize(("size", "pixels"), [("thumb", (96, 96)), ("full", (200, 150))])
def test_it_serves_an_avatar_to_the_same_organization(client_for, carol_with_avatar, bob, size, pixels):
    response = client_for(bob).get(reverse("avatar", args=[carol_with_avatar.pk, size]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert "private" in response["Cache-Control"]
    body = b"".join(response.streaming_content)
    response.close()
    image = Image.open(io.BytesIO(body))
    assert (image.format, image.size) == ("PNG", pixels)


def test_it_answers_404_for_a_missing_avatar_or_size(client_for, carol_with_avatar, bob):
    client = client_for(carol_with_avatar)
    assert client.get(reverse("avatar", args=[bob.pk, "thumb"])).status_code == 404
    assert client.get(reverse("avatar", args=[carol_with_avatar.pk, "huge"])).status_code == 404
    assert client.get(reverse("avatar", args=[999_999, "thumb"])).status_code == 404


# API tokens on the profile page


def test_it_shows_a_new_token_once(client_for, carol):
    client = client_for(carol)
    response = client.post(reverse("create_token"), {"name": "MES integration", "expires_in_days": "30"})
    assert response.status_code == 302
    token = ApiToken.objects.get(user=carol)
    shown = client.get(reverse("profile"))
    raw = shown.context["new_token"]["value"]
    assert raw.startswith(ApiToken.PREFIX)
    assert hash_secret(raw) == token.token_hash
    assert raw in shown.content.decode()
    assert token.expires_at is not None
    again = client.get(reverse("profile"))
    assert again.context["new_token"] is None
    content = again.content.decode()
    assert raw not in content
    assert "MES integration" in content and token.hint in content


def test_it_reports_bad_token_input(client_for, carol):
    response = client_for(carol).post(reverse("create_token"), {"name": "", "expires_in_days": "0"}, follow=True)
    assert "The token was not created" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_it_revokes_an_own_token(client_for, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    response = client_for(carol).post(reverse("revoke_token", args=[token.pk]), follow=True)
    assert "was revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert services.authenticate_api_token(raw) is None


@pytest.mark.parametrize("persona", ["alice", "bob", "mallory"])
def test_it_revokes_only_own_tokens(request, client_for, carol, persona):
    token, raw = services.create_api_token(user=carol, name="Script")
    response = client_for(request.getfixturevalue(persona)).post(reverse("revoke_token", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert services.authenticate_api_token(raw) == token


def test_it_refuses_token_views_on_get(client_for, carol):
    token, _ = services.create_api_token(user=carol, name="Script")
    client = client_for(carol)
    assert client.get(reverse("create_token")).status_code == 405
    assert client.get(reverse("revoke_token", args=[token.pk])).status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


# Organization settings


def _settings_data(**overrides):
    return {
        "name": "Acme Works",
        "corporate_id": "ACME-7",
        "contact_email": "ops@acme.example",
        "time_zone": "Asia/Tokyo",
        "escalation_minutes": "30",
    } | overrides


def test_it_saves_the_organization_settings(client_for, alice, acme):
    response = client_for(alice).post(reverse("manage"), _settings_data(), follow=True)
    assert response.redirect_chain == [(reverse("manage"), 302)]
    assert "settings were saved" in response.content.decode()
    acme.refresh_from_db()
    assert (acme.name, acme.corporate_id, acme.contact_email, acme.time_zone) == (
        "Acme Works",
        "ACME-7",
        "ops@acme.example",
        "Asia/Tokyo",
    )
    assert acme.escalation_delay == timedelta(minutes=30)
    assert acme.slug == "acme-test"


def test_it_prefills_the_organization_settings(client_for, alice):
    form = client_for(alice).get(reverse("manage")).context["form"]
    assert form.initial["name"] == "Acme Manufacturing"
    assert form.initial["time_zone"] == "Europe/Berlin"
    assert form.fields["escalation_minutes"].initial == 15


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"escalation_minutes": "0"}, "escalation_minutes"),
        ({"escalation_minutes": "soon"}, "escalation_minutes"),
        ({"escalation_minutes": str(24 * 60 + 1)}, "escalation_minutes"),
    ],
)
def test_it_shows_errors_for_bad_organization_settings(client_for, alice, acme, overrides, field):
    response = client_for(alice).post(reverse("manage"), _settings_data(**overrides))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Organization.objects.get(pk=acme.pk).name == "Acme Manufacturing"
    assert Organization.objects.get(pk=acme.pk).escalation_delay == timedelta(minutes=15)


def test_it_refuses_a_corporate_id_of_another_organization(client_for, alice, mallory, acme, globex):
    services.update_organization(actor=mallory, organization=globex, corporate_id="GLBX-042")
    response = client_for(alice).post(reverse("manage"), _settings_data(corporate_id="GLBX-042"))
    assert response.status_code == 200
    assert response.context["form"].errors
    acme.refresh_from_db()
    assert (acme.name, acme.corporate_id) == ("Acme Manufacturing", "")


# Query counts


def _add_members(organization, count, start):
    for number in range(start, start + count):
        user = services.create_member(
            organization=organization,
            username=f"worker{number:03d}",
            email=f"worker{number:03d}@example.com",
            password="irrelevant-password",
            role=[Role.STAFF, Role.TECHNICIAN, Role.MANAGER][number % 3],
            position="Operator",
        )
        if number % 2:
            services.update_profile(user=user, first_name="W", last_name=str(number), avatar=png_upload(size=(8, 8)))


def _add_invitations(inviter, count, start):
    for number in range(start, start + count):
        services.invite_user(inviter=inviter, email=f"invitee{number:03d}@example.com", role=Role.STAFF)


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("url_name", ["people", "manage"])
def test_it_uses_a_constant_number_of_queries_for_any_number_of_members(client_for, settings, alice, acme, url_name):
    # A fast hasher: this test creates fifty people.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client = client_for(alice)
    url = reverse(url_name)
    client.get(url)  # Warm up whatever is loaded once per process.
    _add_members(acme, 4, start=1)
    _add_invitations(alice, 5, start=1)
    with_five = _queries_for(client, url)
    _add_members(acme, 45, start=5)
    _add_invitations(alice, 45, start=6)
    with_fifty = _queries_for(client, url)
    assert User.objects.filter(organization=acme).count() == 50
    assert with_fifty == with_five
    assert with_five <= 10
    response = client.get(url)
    assert len(response.context["members"]) == 50
    assert "worker049" in response.content.decode()
