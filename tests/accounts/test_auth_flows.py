"""Log in, log out, reset a password, sign up, accept an invitation, two-factor."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Organization, User
from nexus.permissions import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_logs_in_with_username(client, maria):
    response = client.post(reverse("account_login"), {"login": "maria", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == maria


def test_it_logs_in_with_email(client, maria):
    response = client.post(reverse("account_login"), {"login": "MARIA@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).context["user"] == maria


def test_it_refuses_a_wrong_password_with_a_message(client, maria):
    response = client.post(reverse("account_login"), {"login": "maria", "password": "wrong"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert not response.wsgi_request.user.is_authenticated


def test_it_refuses_a_deactivated_user(client, alice, carol):
    services.set_member_active(actor=alice, member=carol, is_active=False)
    response = client.post(reverse("account_login"), {"login": "carol", "password": PASSWORD})
    assert client.get(reverse("home")).status_code == 302
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)


def test_it_logs_out_on_post(client_for, maria):
    client = client_for(maria)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_it_does_not_log_out_on_get(client_for, maria):
    client = client_for(maria)
    client.get(reverse("account_logout"))
    assert client.get(reverse("home")).status_code == 200


def test_it_resets_a_password_by_email_link(client, maria):
    response = client.post(reverse("account_reset_password"), {"email": "maria@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[0].body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else "/" + path
    response = client.post(form_url, {"password1": "a-new-long-passphrase", "password2": "a-new-long-passphrase"})
    assert response.status_code == 302
    maria.refresh_from_db()
    assert maria.check_password("a-new-long-passphrase")


def test_it_sends_no_reset_mail_for_an_unknown_address(client, maria):
    client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    # allauth does not reveal whether the address exists; no reset link is sent.
    assert all("reset/key" not in message.body for message in mail.outbox)


def test_it_signs_up_a_new_organization_with_its_admin(client, settings):
    settings.NEXUS_OPEN_SIGNUP = True
    response = client.post(
        reverse("account_signup"),
        {
            "email": "founder@initech.example",
            "username": "founder",
            "password1": "a-long-passphrase-1",
            "password2": "a-long-passphrase-1",
            "organization_name": "Initech",
            "time_zone": "Europe/Paris",
        },
    )
    assert response.status_code == 302, response.content.decode()
    user = User.objects.get(username="founder")
    assert user.role == Role.ADMIN
    assert user.organization.name == "Initech"
    assert user.organization.time_zone == "Europe/Paris"
    assert user.organization.slug == "initech"


def test_it_rejects_a_sign_up_with_bad_input_and_saves_nothing(client, settings):
    settings.NEXUS_OPEN_SIGNUP = True
    response = client.post(
        reverse("account_signup"),
        {
            "email": "not-an-email",
            "username": "founder",
            "password1": "a-long-passphrase-1",
            "password2": "different",
            "organization_name": "",
            "time_zone": "Mars/Olympus",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"email", "organization_name", "time_zone"} <= set(errors)
    assert not User.objects.exists()
    assert not Organization.objects.exists()


def test_it_closes_sign_up_when_switched_off(client, settings):
    settings.NEXUS_OPEN_SIGNUP = False
    response = client.get(reverse("account_signup"))
    assert "closed" in response.content.decode().lower()
    client.post(
        reverse("account_signup"),
        {
            "email": "x@example.com",
            "username": "x",
            "password1": "a-long-passphrase-1",
            "password2": "a-long-passphrase-1",
            "organization_name": "X",
            "time_zone": "UTC",
        },
    )
    assert not User.objects.filter(username="x").exists()


def test_it_lets_an_invited_person_join_even_with_sign_up_closed(
    client, alice, settings, django_capture_on_commit_callbacks
):
    settings.NEXUS_OPEN_SIGNUP = False
    with django_capture_on_commit_callbacks(execute=True):
        client_admin = client.__class__()
        client_admin.force_login(alice, backend="accounts.backends.ModelBackend")
        client_admin.post(reverse("invite"), {"email": "newbie@example.com", "role": Role.TECHNICIAN})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/invitations/\S+/", mail.outbox[0].body).group(0)
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]

    page = client.get(path)
    assert page.status_code == 200
    assert "newbie@example.com" in page.content.decode()
    response = client.post(
        path,
        {"username": "newbie", "password": "a-long-passphrase-2", "password_again": "a-long-passphrase-2"},
    )
    assert response.status_code == 302
    newbie = User.objects.get(username="newbie")
    assert newbie.organization == alice.organization
    assert newbie.role == Role.TECHNICIAN
    assert client.get(reverse("home")).context["user"] == newbie

    # Single use: the same link no longer works, even for someone else.
    other = client.__class__()
    assert other.get(path).status_code == 410
    other.post(
        path, {"username": "intruder", "password": "a-long-passphrase-3", "password_again": "a-long-passphrase-3"}
    )
    assert not User.objects.filter(username="intruder").exists()


def test_it_shows_form_errors_on_a_bad_invitation_acceptance(client, alice):
    invitation, token = services.invite_user(inviter=alice, email="x@example.com", role=Role.STAFF)
    path = reverse("accept_invitation", args=[token])
    response = client.post(path, {"username": "alice", "password": "short", "password_again": "other"})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not User.objects.filter(email="x@example.com").exists()
    invitation.refresh_from_db()
    assert invitation.accepted_at is None


def test_it_activates_totp_and_then_asks_for_a_code_at_login(client, maria):
    from allauth.mfa.adapter import get_adapter
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time

    # allauth asks for the password again before enabling two-factor authentication.
    logged_in = client.__class__()
    logged_in.post(reverse("account_login"), {"login": "maria", "password": PASSWORD})
    response = logged_in.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    logged_in.post(response["Location"], {"password": PASSWORD})
    page = logged_in.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    code = format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))
    response = logged_in.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    assert get_adapter().is_mfa_enabled(maria)

    response = client.post(reverse("account_login"), {"login": "maria", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert client.get(reverse("home")).status_code == 302  # not logged in until the code is given
