"""The account services: organizations, roles, invitations, API tokens and profiles."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from PIL import Image

from accounts import services
from accounts.models import ApiToken, Invitation, Organization, User, UserProfile, hash_secret
from nexus.permissions import Role
from tests.accounts.images import huge_png, image_bytes, jpeg_upload, open_stored, png_upload, upload

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-and-unusual-passphrase"


def _refetch(user: User) -> User:
    return User.objects.get(pk=user.pk)


# Organizations


def test_it_creates_an_organization_with_a_slug_from_its_name():
    organization = services.create_organization(name="  Initech Plant  ", time_zone="Europe/Vienna")
    assert organization.pk is not None
    assert organization.name == "Initech Plant"
    assert organization.slug == "initech-plant"
    assert organization.time_zone == "Europe/Vienna"


def test_it_makes_generated_slugs_unique():
    first = services.create_organization(name="Initech")
    second = services.create_organization(name="Initech")
    third = services.create_organization(name="initech!")
    assert [first.slug, second.slug, third.slug] == ["initech", "initech-2", "initech-3"]


def test_it_rejects_an_explicit_slug_that_is_taken(acme):
    with pytest.raises(ValidationError) as error:
        services.create_organization(name="Other", slug=acme.slug)
    assert "slug" in error.value.message_dict
    assert Organization.objects.filter(slug=acme.slug).count() == 1


def test_it_rejects_an_unknown_time_zone():
    with pytest.raises(ValidationError) as error:
        services.create_organization(name="Initech", time_zone="Mars/Olympus_Mons")
    assert "time_zone" in error.value.message_dict
    assert not Organization.objects.filter(name="Initech").exists()


def test_it_rejects_an_organization_without_a_name():
    with pytest.raises(ValidationError) as error:
        services.create_organization(name="   ")
    assert "name" in error.value.message_dict
    assert not Organization.objects.exists()


def test_it_lets_only_an_admin_update_the_organization(alice, maria, acme):
    with pytest.raises(PermissionDenied):
        services.update_organization(actor=maria, organization=acme, name="Renamed")
    services.update_organization(actor=alice, organization=acme, name="Acme Works", time_zone="Asia/Tokyo")
    acme.refresh_from_db()
    assert (acme.name, acme.time_zone) == ("Acme Works", "Asia/Tokyo")


def test_it_refuses_to_update_another_organization(alice, globex):
    with pytest.raises(ValidationError):
        services.update_organization(actor=alice, organization=globex, name="Taken over")
    globex.refresh_from_db()
    assert globex.name == "Globex"


def test_it_refuses_to_update_fields_outside_the_allowed_set(alice, acme):
    with pytest.raises(ValidationError):
        services.update_organization(actor=alice, organization=acme, subscription_tier="enterprise")
    acme.refresh_from_db()
    assert acme.subscription_tier == Organization.Tier.FREE


# Roles


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_it_lets_only_an_admin_change_a_role(request, persona, alice, carol):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.change_role(actor=actor, member=carol, role=Role.MANAGER)
    assert _refetch(carol).role == Role.STAFF


def test_it_changes_a_role(alice, carol):
    member = services.change_role(actor=alice, member=carol, role=Role.TECHNICIAN)
    assert member.role == Role.TECHNICIAN
    assert _refetch(carol).role == Role.TECHNICIAN


def test_it_refuses_to_demote_the_last_admin(alice):
    with pytest.raises(ValidationError) as error:
        services.change_role(actor=alice, member=alice, role=Role.MANAGER)
    assert "role" in error.value.message_dict
    assert _refetch(alice).role == Role.ADMIN


def test_it_lets_an_admin_step_down_when_another_admin_remains(alice, maria):
    services.change_role(actor=alice, member=maria, role=Role.ADMIN)
    services.change_role(actor=alice, member=alice, role=Role.STAFF)
    assert _refetch(alice).role == Role.STAFF
    assert _refetch(maria).role == Role.ADMIN


def test_it_does_not_count_an_inactive_admin_as_the_remaining_admin(alice, maria):
    services.change_role(actor=alice, member=maria, role=Role.ADMIN)
    services.set_member_active(actor=alice, member=maria, is_active=False)
    with pytest.raises(ValidationError):
        services.change_role(actor=alice, member=alice, role=Role.STAFF)
    assert _refetch(alice).role == Role.ADMIN


def test_it_refuses_to_change_a_role_across_organizations(alice, mallory):
    with pytest.raises(ValidationError):
        services.change_role(actor=alice, member=mallory, role=Role.STAFF)
    assert _refetch(mallory).role == Role.ADMIN


def test_it_rejects_an_unknown_role_and_changes_nothing(alice, carol):
    with pytest.raises(ValidationError) as error:
        services.change_role(actor=alice, member=carol, role="overlord")
    assert "role" in error.value.message_dict
    assert _refetch(carol).role == Role.STAFF


# Activation


def test_it_deactivates_and_reactivates_a_member(alice, bob):
    services.set_member_active(actor=alice, member=bob, is_active=False)
    assert _refetch(bob).is_active is False
    services.set_member_active(actor=alice, member=bob, is_active=True)
    assert _refetch(bob).is_active is True


def test_it_refuses_to_let_an_admin_deactivate_themself(alice, maria):
    # Even with a second admin present, deactivating yourself is refused.
    services.change_role(actor=alice, member=maria, role=Role.ADMIN)
    with pytest.raises(ValidationError, match="yourself"):
        services.set_member_active(actor=alice, member=alice, is_active=False)
    assert _refetch(alice).is_active is True


def test_it_refuses_to_deactivate_the_last_active_admin(alice, maria):
    # An acting admin always counts as one, so the guard is reached only when the
    # actor was demoted in the meantime (as by a concurrent request): `alice` is
    # that stale actor here, and `maria` the one admin left in the database.
    maria = services.change_role(actor=alice, member=maria, role=Role.ADMIN)
    services.change_role(actor=maria, member=alice, role=Role.STAFF)
    assert alice.role == Role.ADMIN
    with pytest.raises(ValidationError, match="at least one active admin"):
        services.set_member_active(actor=alice, member=maria, is_active=False)
    assert _refetch(maria).is_active is True


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_it_lets_only_an_admin_deactivate(request, persona, alice, carol):
    actor = request.getfixturevalue(persona)
    with pytest.raises(PermissionDenied):
        services.set_member_active(actor=actor, member=carol if actor != carol else alice, is_active=False)
    assert _refetch(carol).is_active is True
    assert _refetch(alice).is_active is True


def test_it_refuses_to_deactivate_across_organizations(alice, mallory):
    with pytest.raises(ValidationError):
        services.set_member_active(actor=alice, member=mallory, is_active=False)
    assert _refetch(mallory).is_active is True


def test_it_revokes_api_tokens_on_deactivation(alice, bob, carol):
    bob_token, bob_raw = services.create_api_token(user=bob, name="MES")
    carol_token, carol_raw = services.create_api_token(user=carol, name="Script")
    services.set_member_active(actor=alice, member=bob, is_active=False)
    bob_token.refresh_from_db()
    carol_token.refresh_from_db()
    assert bob_token.revoked_at is not None
    assert carol_token.revoked_at is None
    # Reactivation does not bring a revoked token back.
    services.set_member_active(actor=alice, member=bob, is_active=True)
    assert services.authenticate_api_token(bob_raw) is None
    assert services.authenticate_api_token(carol_raw) == carol_token


# Invitations


def test_it_sends_one_invitation_email_with_the_link(alice, settings, django_capture_on_commit_callbacks):
    settings.SITE_ROOT = "https://nexus.example"
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = services.invite_user(inviter=alice, email=" New.Person@Example.com ", role=Role.TECHNICIAN)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.person@example.com"]
    assert "Acme Manufacturing" in message.subject
    assert f"https://nexus.example/invitations/{raw}/" in message.body
    assert "Technician" in message.body
    assert invitation.email == "new.person@example.com"
    assert invitation.organization_id == alice.organization_id
    assert invitation.invited_by == alice
    assert invitation.state == "pending"
    # Only the hash is stored.
    assert invitation.token_hash == hash_secret(raw)
    assert not Invitation.objects.filter(token_hash=raw).exists()


def test_it_leaves_the_invitation_body_free_of_the_token_hash(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    body = mail.outbox[0].body
    assert invitation.token_hash not in body
    assert re.search(r"expires on \d{4}-\d{2}-\d{2}", body)
    assert body.count(raw) == 1


def test_it_sends_no_email_when_the_transaction_does_not_commit(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_it_replaces_an_earlier_invitation_to_the_same_address(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first, first_raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
        second, second_raw = services.invite_user(inviter=alice, email="NEW.person@example.com", role=Role.MANAGER)
    first.refresh_from_db()
    assert first.state == "revoked"
    assert second.state == "pending"
    assert Invitation.objects.filter(email="new.person@example.com", revoked_at__isnull=True).get() == second
    assert len(mail.outbox) == 2
    with pytest.raises(ValidationError):
        services.accept_invitation(raw_token=first_raw, username="newbie", password=NEW_PASSWORD)
    user = services.accept_invitation(raw_token=second_raw, username="newbie", password=NEW_PASSWORD)
    assert user.role == Role.MANAGER


def test_it_refuses_to_invite_an_existing_address(alice, mallory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.invite_user(inviter=alice, email="MALLORY@example.com", role=Role.STAFF)
    assert "email" in error.value.message_dict
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_rejects_a_malformed_address(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as error:
        services.invite_user(inviter=alice, email="not-an-address", role=Role.STAFF)
    assert "email" in error.value.message_dict
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_rejects_an_invitation_with_an_unknown_role(alice):
    with pytest.raises(ValidationError) as error:
        services.invite_user(inviter=alice, email="new.person@example.com", role="overlord")
    assert "role" in error.value.message_dict
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_it_lets_only_an_admin_invite(request, persona, django_capture_on_commit_callbacks):
    actor = request.getfixturevalue(persona)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.invite_user(inviter=actor, email="new.person@example.com", role=Role.STAFF)
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_it_revokes_an_invitation_of_the_own_organization_only(alice, mallory):
    invitation, _ = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    with pytest.raises(ValidationError):
        services.revoke_invitation(actor=mallory, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    services.revoke_invitation(actor=alice, invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.state == "revoked"


def test_it_accepts_an_invitation_into_the_right_organization(alice, acme):
    invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.TECHNICIAN)
    user = services.accept_invitation(
        raw_token=raw, username=" newbie ", password=NEW_PASSWORD, first_name=" Nia ", last_name="Newton"
    )
    user.refresh_from_db()
    assert user.username == "newbie"
    assert (user.first_name, user.last_name) == ("Nia", "Newton")
    assert user.organization == acme
    assert user.role == Role.TECHNICIAN
    assert user.email == "new.person@example.com"
    assert user.check_password(NEW_PASSWORD)
    assert UserProfile.objects.filter(user=user).exists()
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("new.person@example.com", True, True)
    invitation.refresh_from_db()
    assert invitation.state == "accepted"
    assert invitation.accepted_by == user


def test_it_accepts_an_invitation_only_once(alice):
    _, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    services.accept_invitation(raw_token=raw, username="newbie", password=NEW_PASSWORD)
    with pytest.raises(ValidationError, match="invalid, expired or already used"):
        services.accept_invitation(raw_token=raw, username="another", password=NEW_PASSWORD)
    assert not User.objects.filter(username="another").exists()


def test_it_refuses_an_expired_invitation(alice):
    invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        services.accept_invitation(raw_token=raw, username="newbie", password=NEW_PASSWORD)
    assert not User.objects.filter(username="newbie").exists()


def test_it_refuses_a_revoked_invitation(alice):
    invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    services.revoke_invitation(actor=alice, invitation=invitation)
    with pytest.raises(ValidationError):
        services.accept_invitation(raw_token=raw, username="newbie", password=NEW_PASSWORD)
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.parametrize("raw_token", ["", "not-a-token"])
def test_it_refuses_an_unknown_invitation_token(alice, raw_token):
    services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    with pytest.raises(ValidationError):
        services.accept_invitation(raw_token=raw_token, username="newbie", password=NEW_PASSWORD)
    assert not User.objects.filter(username="newbie").exists()


def test_it_reports_a_taken_username_on_its_field_and_creates_nothing(alice, bob):
    invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    users_before = User.objects.count()
    with pytest.raises(ValidationError) as error:
        services.accept_invitation(raw_token=raw, username="BOB", password=NEW_PASSWORD)
    assert "username" in error.value.message_dict
    assert User.objects.count() == users_before
    assert not EmailAddress.objects.filter(email="new.person@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    # The link still works with another name.
    assert services.accept_invitation(raw_token=raw, username="newbie", password=NEW_PASSWORD).pk


def test_it_refuses_a_weak_password_and_creates_nothing(alice):
    invitation, raw = services.invite_user(inviter=alice, email="new.person@example.com", role=Role.STAFF)
    with pytest.raises(ValidationError):
        services.accept_invitation(raw_token=raw, username="newbie", password="password")
    assert not User.objects.filter(username="newbie").exists()
    invitation.refresh_from_db()
    assert invitation.state == "pending"


def test_it_purges_long_expired_invitations_idempotently(alice):
    now = timezone.now()

    def invitation_expiring(email, expires_at, **state):
        invitation, _ = services.invite_user(inviter=alice, email=email, role=Role.STAFF)
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=expires_at, **state)
        return invitation

    pending = invitation_expiring("pending@example.com", now + timedelta(days=3))
    recently_expired = invitation_expiring("recent@example.com", now - timedelta(days=10))
    old_expired = invitation_expiring("old@example.com", now - timedelta(days=40))
    old_revoked = invitation_expiring("revoked@example.com", now - timedelta(days=40), revoked_at=now)
    old_accepted = invitation_expiring("accepted@example.com", now - timedelta(days=40), accepted_at=now)

    assert services.purge_expired_invitations() == 2
    remaining = set(Invitation.objects.values_list("pk", flat=True))
    assert remaining == {pending.pk, recently_expired.pk, old_accepted.pk}
    assert old_expired.pk not in remaining and old_revoked.pk not in remaining
    assert services.purge_expired_invitations() == 0
    assert set(Invitation.objects.values_list("pk", flat=True)) == remaining
    assert services.purge_expired_invitations(older_than=timedelta(days=1)) == 1
    assert set(Invitation.objects.values_list("pk", flat=True)) == {pending.pk, old_accepted.pk}


# API tokens


def test_it_creates_a_token_whose_raw_value_is_never_stored(carol):
    token, raw = services.create_api_token(user=carol, name="  Line scanner  ")
    token.refresh_from_db()
    assert raw.startswith(ApiToken.PREFIX)
    assert len(raw) > 40
    assert token.name == "Line scanner"
    assert token.token_hash == hash_secret(raw)
    assert token.hint == raw[: len(ApiToken.PREFIX) + 6]
    assert token.organization_id == carol.organization_id
    assert token.expires_at is None
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in stored.values())
    # Two tokens never share a value.
    _, other_raw = services.create_api_token(user=carol, name="Another")
    assert other_raw != raw


def test_it_sets_a_token_expiry(carol):
    token, _ = services.create_api_token(user=carol, name="Temporary", expires_in_days=30)
    assert timedelta(days=29, hours=23) < token.expires_at - timezone.now() <= timedelta(days=30)


@pytest.mark.parametrize(
    ("name", "expires_in_days", "field"),
    [("", None, "name"), ("   ", None, "name"), ("Script", 0, "expires_in_days"), ("Script", 3651, "expires_in_days")],
)
def test_it_rejects_bad_token_input(carol, name, expires_in_days, field):
    with pytest.raises(ValidationError) as error:
        services.create_api_token(user=carol, name=name, expires_in_days=expires_in_days)
    assert field in error.value.message_dict
    assert not ApiToken.objects.exists()


def test_it_refuses_a_token_to_an_inactive_user(alice, carol):
    services.set_member_active(actor=alice, member=carol, is_active=False)
    with pytest.raises(PermissionDenied):
        services.create_api_token(user=_refetch(carol), name="Script")
    assert not ApiToken.objects.exists()


def test_it_authenticates_a_token_and_records_its_use(carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    assert token.last_used_at is None
    found = services.authenticate_api_token(raw)
    assert found == token
    assert found.user == carol
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    # Within a minute the use is not written again.
    services.authenticate_api_token(raw)
    token.refresh_from_db()
    assert token.last_used_at == first_use
    # After a minute it is.
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    services.authenticate_api_token(raw)
    token.refresh_from_db()
    assert timezone.now() - token.last_used_at < timedelta(seconds=30)


@pytest.mark.parametrize("raw", ["", "nxs_", "nxs_wrong", "Bearer nxs_wrong", "something-else"])
def test_it_rejects_unknown_token_values(carol, raw):
    services.create_api_token(user=carol, name="Script")
    assert services.authenticate_api_token(raw) is None


def test_it_rejects_a_revoked_token(carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    services.revoke_api_token(user=carol, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert services.authenticate_api_token(raw) is None
    # Revoking twice keeps the first revocation time.
    revoked_at = token.revoked_at
    services.revoke_api_token(user=carol, token=token)
    token.refresh_from_db()
    assert token.revoked_at == revoked_at


def test_it_rejects_an_expired_token(carol):
    token, raw = services.create_api_token(user=carol, name="Script", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert services.authenticate_api_token(raw) is None


def test_it_rejects_the_token_of_an_inactive_user(alice, carol):
    _, raw = services.create_api_token(user=carol, name="Script")
    # Deactivation revokes; an inactive user's unrevoked token must fail as well.
    User.objects.filter(pk=carol.pk).update(is_active=False)
    assert services.authenticate_api_token(raw) is None


def test_it_rejects_a_token_of_a_user_who_moved_organization(carol, globex):
    _, raw = services.create_api_token(user=carol, name="Script")
    User.objects.filter(pk=carol.pk).update(organization=globex)
    assert services.authenticate_api_token(raw) is None


def test_it_lets_only_the_owner_revoke_a_token(alice, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    with pytest.raises(ValidationError):
        services.revoke_api_token(user=alice, token=token)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert services.authenticate_api_token(raw) == token


# Profile and avatar


def _profile_of(user) -> UserProfile:
    return UserProfile.objects.get(user=user)


def _update(user, **overrides):
    fields = {"first_name": "Carol", "last_name": "Carter", "phone": "+49 30 1234", "department": "Assembly"}
    return services.update_profile(user=user, **(fields | overrides))


def test_it_updates_the_profile_fields(carol):
    services.update_profile(
        user=carol,
        first_name=" Carol ",
        last_name=" Carter ",
        phone=" +49 (30) 555-01 ",
        department=" Assembly ",
        position=" Line operator ",
    )
    carol = _refetch(carol)
    profile = _profile_of(carol)
    assert (carol.first_name, carol.last_name) == ("Carol", "Carter")
    assert (profile.phone, profile.department, profile.position) == ("+49 (30) 555-01", "Assembly", "Line operator")


@pytest.mark.parametrize("phone", ["call me maybe", "12", "+49 30 1234 5678 9012 3456"])
def test_it_rejects_a_bad_phone_number_and_saves_nothing(carol, phone):
    _update(carol, phone="+49 30 1")
    with pytest.raises(ValidationError) as error:
        _update(carol, first_name="Changed", phone=phone, department="Changed")
    assert "phone" in error.value.message_dict
    profile = _profile_of(carol)
    assert (profile.phone, profile.department) == ("+49 30 1", "Assembly")
    assert _refetch(carol).first_name == "Carol"


@pytest.mark.parametrize("make_upload", [png_upload, jpeg_upload], ids=["png", "jpeg"])
def test_it_re_encodes_an_avatar_and_makes_a_thumbnail(carol, make_upload):
    _update(carol, avatar=make_upload(size=(1024, 600)))
    profile = _profile_of(carol)
    avatar, thumbnail = open_stored(profile.avatar), open_stored(profile.avatar_thumbnail)
    assert avatar.format == "PNG" and thumbnail.format == "PNG"
    assert avatar.size == (512, 300)
    assert thumbnail.size == (96, 96)
    assert profile.avatar.name.startswith(f"avatars/{carol.organization_id}/")
    assert profile.avatar.name.endswith(".png")
    assert "picture" not in profile.avatar.name


def test_it_keeps_a_small_avatar_at_its_size(carol):
    _update(carol, avatar=png_upload(size=(40, 30)))
    profile = _profile_of(carol)
    assert open_stored(profile.avatar).size == (40, 30)
    assert open_stored(profile.avatar_thumbnail).size == (96, 96)


def test_it_applies_the_exif_orientation_and_drops_the_metadata(carol):
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display.
    exif[0x010E] = "secret plant location"  # ImageDescription
    content = image_bytes(size=(200, 100), image_format="JPEG", exif=exif.tobytes())
    _update(carol, avatar=upload(content, name="photo.jpg", content_type="image/jpeg"))
    profile = _profile_of(carol)
    avatar = open_stored(profile.avatar)
    assert avatar.size == (100, 200)
    assert not avatar.getexif()
    with profile.avatar.open("rb") as handle:
        assert b"secret plant location" not in handle.read()


def test_it_replaces_an_avatar_and_deletes_the_old_files_after_commit(carol, django_capture_on_commit_callbacks):
    _update(carol, avatar=png_upload())
    old = _profile_of(carol)
    old_names = [old.avatar.name, old.avatar_thumbnail.name]
    storage = old.avatar.storage
    with django_capture_on_commit_callbacks(execute=True):
        _update(carol, avatar=png_upload(color=(0, 0, 255)))
    new = _profile_of(carol)
    assert new.avatar.name not in old_names
    assert storage.exists(new.avatar.name) and storage.exists(new.avatar_thumbnail.name)
    assert not any(storage.exists(name) for name in old_names)


def test_it_removes_an_avatar(carol, django_capture_on_commit_callbacks):
    _update(carol, avatar=png_upload())
    old = _profile_of(carol)
    names, storage = [old.avatar.name, old.avatar_thumbnail.name], old.avatar.storage
    with django_capture_on_commit_callbacks(execute=True):
        _update(carol, remove_avatar=True)
    profile = _profile_of(carol)
    assert not profile.avatar and not profile.avatar_thumbnail
    assert not any(storage.exists(name) for name in names)


def _stored_files() -> list[str]:
    return sorted(str(path) for path in (django_settings.MEDIA_ROOT / "avatars").rglob("*") if path.is_file())


def _assert_rejected_without_change(user, bad_upload, match):
    """Give `user` a small avatar, then check `bad_upload` is refused and nothing changed."""
    _update(user, avatar=png_upload(size=(40, 30)))
    before = _profile_of(user)
    files_before = _stored_files()
    assert len(files_before) == 2
    with pytest.raises(ValidationError, match=match):
        _update(user, first_name="Changed", department="Changed", avatar=bad_upload)
    after = _profile_of(user)
    assert _refetch(user).first_name == "Carol"
    assert after.department == "Assembly"
    assert (after.avatar.name, after.avatar_thumbnail.name) == (before.avatar.name, before.avatar_thumbnail.name)
    assert after.avatar.storage.exists(after.avatar.name)
    assert _stored_files() == files_before


def test_it_rejects_a_text_file_named_png(carol):
    _assert_rejected_without_change(carol, upload(b"<?php echo 'hello'; ?>\n" * 20), "not a readable image")


def test_it_rejects_a_truncated_image(carol):
    content = image_bytes(size=(300, 300), image_format="JPEG", quality=95)
    _assert_rejected_without_change(carol, upload(content[: len(content) // 2], name="cut.jpg"), "not a readable image")


def test_it_rejects_an_image_format_it_does_not_accept(carol):
    _assert_rejected_without_change(
        carol, upload(image_bytes(image_format="BMP"), name="p.bmp"), "JPEG, PNG, GIF or WebP"
    )


def test_it_rejects_an_oversized_file(carol, settings):
    settings.NEXUS_AVATAR_MAX_BYTES = 1024
    big_png = upload(image_bytes(size=(40, 30)) + b"\0" * 2048)
    assert big_png.size > 1024
    _assert_rejected_without_change(carol, big_png, "too large: at most 1 KB")


def test_it_rejects_a_decompression_bomb(carol):
    # 20000 x 20000 pixels in about 50 KB: Pillow's own guard refuses to open it.
    bomb = huge_png(20_000, 20_000)
    assert len(bomb) < 100_000
    _assert_rejected_without_change(carol, upload(bomb, name="bomb.png"), "too many pixels")


def test_it_rejects_an_image_pillow_only_warns_about(carol, monkeypatch):
    # Between Pillow's limit and twice that, Pillow merely warns; the service refuses.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 5_000)
    _assert_rejected_without_change(carol, upload(huge_png(80, 80), name="big.png"), "too many pixels")


def test_it_rejects_an_image_over_our_own_pixel_limit(carol):
    # 6000 x 5000 is below Pillow's guard but over NEXUS_AVATAR_MAX_PIXELS (25 MP).
    _assert_rejected_without_change(carol, upload(huge_png(6_000, 5_000), name="wide.png"), r"6000 x 5000")


def test_it_applies_a_lowered_pixel_limit(carol, settings):
    settings.NEXUS_AVATAR_MAX_PIXELS = 64 * 64
    _update(carol, avatar=png_upload(size=(64, 64)))
    with pytest.raises(ValidationError, match=r"65 x 64"):
        _update(carol, avatar=png_upload(size=(65, 64)))


def test_it_gives_a_profile_to_a_user_without_one(carol):
    UserProfile.objects.filter(user=carol).delete()
    profile = services.update_profile(user=carol, first_name="Carol", last_name="", phone="+1 555 0100")
    assert _profile_of(carol) == profile
    assert profile.phone == "+1 555 0100"


def test_it_reads_an_avatar_from_the_start_of_the_upload(carol):
    avatar = png_upload()
    avatar.read()  # Something consumed the stream before the service saw it.
    _update(carol, avatar=avatar)
    assert open_stored(_profile_of(carol).avatar).size == (120, 80)


def test_it_stores_nothing_for_a_rejected_first_upload(carol, settings):
    with pytest.raises(ValidationError):
        _update(carol, avatar=upload(b"not an image"))
    profile = _profile_of(carol)
    assert not profile.avatar and not profile.avatar_thumbnail
    assert profile.department == ""
    media = settings.MEDIA_ROOT / "avatars"
    assert not media.exists() or not any(media.rglob("*"))
