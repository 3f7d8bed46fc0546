"""The JSON API for people, invitations and tokens, over HTTP with the test client."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, Invitation, User, hash_secret
from nexus.permissions import Role
from tests.api_client import patch_json, post_json

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def token_for():
    """The raw value of a fresh API token for a user: `token_for(alice)`."""

    def make(user) -> str:
        _, raw = services.create_api_token(user=user, name="test")
        return raw

    return make


def _refetch(user: User) -> User:
    return User.objects.get(pk=user.pk)


# Authentication


def test_it_returns_me_for_a_bearer_token(client, token_for, maria, acme):
    services.update_profile(user=maria, first_name="Maria", last_name="Manager", department="Production")
    response = client.get(f"{API}/me", headers=_bearer(token_for(maria)))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["username"], body["role"]) == (maria.pk, "maria", "manager")
    assert body["department"] == "Production"
    assert body["organization"]["slug"] == acme.slug
    assert body["organization"]["escalation_delay_minutes"] == 15
    assert "create_activity" in body["permissions"]
    assert "manage_users" not in body["permissions"]
    assert "password" not in body


def test_it_returns_me_for_a_session(client_for, alice):
    response = client_for(alice).get(f"{API}/me")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice"
    assert "manage_users" in body["permissions"]


def test_it_returns_the_organization(client, token_for, carol, acme):
    response = client.get(f"{API}/organization", headers=_bearer(token_for(carol)))
    assert response.status_code == 200
    assert response.json()["name"] == "Acme Manufacturing"
    assert response.json()["time_zone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nxs_not-a-real-token"},
        {"Authorization": "Bearer not-even-our-prefix"},
        {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
    ],
)
def test_it_answers_401_without_valid_authentication(client, alice, headers):
    services.create_api_token(user=alice, name="real")
    response = client.get(f"{API}/me", headers=headers)
    assert response.status_code == 401
    assert "Authentication required" in response.json()["detail"]


def test_it_answers_401_for_a_revoked_token(client, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 200
    services.revoke_api_token(user=carol, token=token)
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 401


def test_it_answers_401_for_an_expired_token(client, carol):
    token, raw = services.create_api_token(user=carol, name="Script", expires_in_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 401


def test_it_answers_401_for_a_deactivated_persons_token(client, alice, carol, token_for):
    raw = token_for(carol)
    services.set_member_active(actor=alice, member=carol, is_active=False)
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 401


def test_it_records_when_a_token_was_used(client, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    client.get(f"{API}/me", headers=_bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at is not None


# Users


def test_it_lists_only_the_own_organizations_users(client, token_for, alice, maria, bob, carol, mallory):
    response = client.get(f"{API}/users", headers=_bearer(token_for(bob)))
    assert response.status_code == 200
    assert [user["username"] for user in response.json()] == ["alice", "bob", "carol", "maria"]
    outsider = client.get(f"{API}/users", headers=_bearer(token_for(mallory)))
    assert [user["username"] for user in outsider.json()] == ["mallory"]


def test_it_lists_inactive_users_on_request(client, token_for, alice, carol):
    services.set_member_active(actor=alice, member=carol, is_active=False)
    raw = token_for(alice)
    assert [u["username"] for u in client.get(f"{API}/users", headers=_bearer(raw)).json()] == ["alice"]
    everyone = client.get(f"{API}/users?include_inactive=true", headers=_bearer(raw)).json()
    assert [(u["username"], u["is_active"]) for u in everyone] == [("alice", True), ("carol", False)]


def test_it_returns_a_user_of_the_own_organization(client, token_for, carol, bob):
    response = client.get(f"{API}/users/{bob.pk}", headers=_bearer(token_for(carol)))
    assert response.status_code == 200
    assert response.json()["username"] == "bob"


def test_it_answers_404_for_a_user_of_another_organization(client, token_for, carol, mallory):
    response = client.get(f"{API}/users/{mallory.pk}", headers=_bearer(token_for(carol)))
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    missing = client.get(f"{API}/users/999999", headers=_bearer(token_for(carol)))
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not found."})


def test_it_changes_a_role_for_an_admin(client, token_for, alice, carol):
    response = patch_json(client, f"{API}/users/{carol.pk}", {"role": "technician"}, headers=_bearer(token_for(alice)))
    assert response.status_code == 200
    assert response.json()["role"] == "technician"
    assert _refetch(carol).role == Role.TECHNICIAN


def test_it_deactivates_a_user_for_an_admin(client, token_for, alice, carol):
    carol_raw = token_for(carol)
    response = patch_json(client, f"{API}/users/{carol.pk}", {"is_active": False}, headers=_bearer(token_for(alice)))
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    assert client.get(f"{API}/me", headers=_bearer(carol_raw)).status_code == 401


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_it_forbids_role_changes_to_non_admins(request, client, token_for, persona, alice, carol):
    actor = request.getfixturevalue(persona)
    raw = token_for(actor)
    for target, payload in ((actor, {"role": "admin"}), (alice, {"role": "staff"}), (alice, {"is_active": False})):
        response = patch_json(client, f"{API}/users/{target.pk}", payload, headers=_bearer(raw))
        assert response.status_code == 403
        assert "may not manage users" in response.json()["detail"]
    assert _refetch(actor).role == actor.role
    assert (_refetch(alice).role, _refetch(alice).is_active) == (Role.ADMIN, True)


def test_it_explains_why_the_last_admin_cannot_be_demoted(client, token_for, alice):
    response = patch_json(client, f"{API}/users/{alice.pk}", {"role": "manager"}, headers=_bearer(token_for(alice)))
    assert response.status_code == 400
    assert "at least one active admin" in response.json()["detail"]
    assert _refetch(alice).role == Role.ADMIN


def test_it_explains_why_an_admin_cannot_deactivate_themself(client, token_for, alice):
    response = patch_json(client, f"{API}/users/{alice.pk}", {"is_active": False}, headers=_bearer(token_for(alice)))
    assert response.status_code == 400
    assert "cannot deactivate yourself" in response.json()["detail"]
    assert _refetch(alice).is_active is True


def test_it_changes_nothing_when_part_of_an_update_is_refused(client, token_for, alice, maria):
    services.change_role(actor=alice, member=maria, role=Role.ADMIN)
    response = patch_json(
        client, f"{API}/users/{alice.pk}", {"role": "staff", "is_active": False}, headers=_bearer(token_for(alice))
    )
    assert response.status_code == 400
    # The refused deactivation must not leave the role change behind.
    assert _refetch(alice).role == Role.ADMIN
    assert _refetch(alice).is_active is True


@pytest.mark.parametrize("payload", [{"role": "overlord"}, {"role": ""}, {"is_active": "perhaps"}])
def test_it_answers_422_for_invalid_input(client, token_for, alice, carol, payload):
    response = patch_json(client, f"{API}/users/{carol.pk}", payload, headers=_bearer(token_for(alice)))
    assert response.status_code == 422
    assert response.json()["detail"] == "Invalid input."
    assert response.json()["errors"]
    assert (_refetch(carol).role, _refetch(carol).is_active) == (Role.STAFF, True)


def test_it_answers_404_when_patching_a_user_of_another_organization(client, token_for, mallory, carol):
    response = patch_json(client, f"{API}/users/{carol.pk}", {"role": "admin"}, headers=_bearer(token_for(mallory)))
    assert response.status_code == 404
    assert _refetch(carol).role == Role.STAFF


# Invitations


def test_it_creates_an_invitation(client, token_for, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(
            client,
            f"{API}/invitations",
            {"email": "New.Person@example.com", "role": "technician"},
            headers=_bearer(token_for(alice)),
        )
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["state"]) == ("new.person@example.com", "technician", "pending")
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.organization_id == alice.organization_id
    assert len(mail.outbox) == 1
    assert "token" not in body and invitation.token_hash not in response.content.decode()


def test_it_defaults_an_invitation_to_staff(client, token_for, alice):
    response = post_json(client, f"{API}/invitations", {"email": "new@example.com"}, headers=_bearer(token_for(alice)))
    assert response.status_code == 201
    assert response.json()["role"] == "staff"


def test_it_answers_400_for_an_invitation_to_an_existing_address(client, token_for, alice, mallory):
    response = post_json(
        client,
        f"{API}/invitations",
        {"email": "mallory@example.com", "role": "staff"},
        headers=_bearer(token_for(alice)),
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("email: ")
    assert not Invitation.objects.exists()


def test_it_answers_400_for_an_address_that_is_not_one(client, token_for, alice):
    response = post_json(client, f"{API}/invitations", {"email": "not-an-address"}, headers=_bearer(token_for(alice)))
    assert response.status_code == 400
    assert response.json()["detail"] == "email: Enter a valid e-mail address."
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("payload", [{"email": "a@b.c", "role": "boss"}, {}])
def test_it_answers_422_for_a_bad_invitation(client, token_for, alice, payload):
    response = post_json(client, f"{API}/invitations", payload, headers=_bearer(token_for(alice)))
    assert response.status_code == 422
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("persona", ["maria", "bob", "carol"])
def test_it_forbids_invitations_to_non_admins(
    request, client, token_for, persona, alice, django_capture_on_commit_callbacks
):
    raw = token_for(request.getfixturevalue(persona))
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, f"{API}/invitations", {"email": "new@example.com"}, headers=_bearer(raw))
    assert response.status_code == 403
    assert not Invitation.objects.exists()
    assert mail.outbox == []
    assert client.get(f"{API}/invitations", headers=_bearer(raw)).status_code == 403


def test_it_lists_and_revokes_invitations_of_the_own_organization(client, token_for, alice, mallory):
    invitation, _ = services.invite_user(inviter=alice, email="new@example.com", role=Role.STAFF)
    services.invite_user(inviter=mallory, email="other@example.com", role=Role.STAFF)
    raw = token_for(alice)
    listed = client.get(f"{API}/invitations", headers=_bearer(raw)).json()
    assert [entry["email"] for entry in listed] == ["new@example.com"]
    assert client.delete(f"{API}/invitations/{invitation.pk}", headers=_bearer(token_for(mallory))).status_code == 404
    invitation.refresh_from_db()
    assert invitation.state == "pending"
    assert client.delete(f"{API}/invitations/{invitation.pk}", headers=_bearer(raw)).status_code == 204
    invitation.refresh_from_db()
    assert invitation.state == "revoked"


# Tokens


def test_it_returns_a_new_tokens_value_once(client, token_for, carol):
    raw = token_for(carol)
    response = post_json(client, f"{API}/tokens", {"name": "MES", "expires_in_days": 90}, headers=_bearer(raw))
    assert response.status_code == 201
    created = response.json()
    new_raw = created["token"]
    assert new_raw.startswith(ApiToken.PREFIX)
    assert ApiToken.objects.get(pk=created["id"]).token_hash == hash_secret(new_raw)
    assert created["hint"] == new_raw[: len(created["hint"])]
    assert created["expires_at"] is not None
    listed = client.get(f"{API}/tokens", headers=_bearer(new_raw))
    assert listed.status_code == 200
    assert {entry["name"] for entry in listed.json()} == {"test", "MES"}
    assert all("token" not in entry for entry in listed.json())
    assert new_raw not in listed.content.decode()
    assert raw not in listed.content.decode()


def test_it_answers_400_for_a_bad_token_request(client, token_for, carol):
    raw = token_for(carol)
    response = post_json(client, f"{API}/tokens", {"name": "  "}, headers=_bearer(raw))
    assert response.status_code == 400
    assert response.json()["detail"].startswith("name: ")
    response = post_json(client, f"{API}/tokens", {"name": "x", "expires_in_days": 0}, headers=_bearer(raw))
    assert response.status_code == 400
    assert ApiToken.objects.count() == 1


def test_it_lists_only_own_tokens(client, token_for, carol, bob):
    token_for(bob)
    listed = client.get(f"{API}/tokens", headers=_bearer(token_for(carol))).json()
    assert len(listed) == 1
    assert ApiToken.objects.get(pk=listed[0]["id"]).user == carol


def test_it_revokes_a_token(client, token_for, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    assert client.delete(f"{API}/tokens/{token.pk}", headers=_bearer(token_for(carol))).status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 401


def test_it_lets_a_token_revoke_itself(client, carol):
    token, raw = services.create_api_token(user=carol, name="Script")
    assert client.delete(f"{API}/tokens/{token.pk}", headers=_bearer(raw)).status_code == 204
    assert client.get(f"{API}/me", headers=_bearer(raw)).status_code == 401


@pytest.mark.parametrize("persona", ["alice", "bob", "mallory"])
def test_it_answers_404_for_someone_elses_token(request, client, token_for, carol, persona):
    token, _ = services.create_api_token(user=carol, name="Script")
    response = client.delete(f"{API}/tokens/{token.pk}", headers=_bearer(token_for(request.getfixturevalue(persona))))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# CSRF: a session is an ambient credential, a token is not.


def _csrf_client_for(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return client


def test_it_rejects_a_session_post_without_a_csrf_token(carol):
    client = _csrf_client_for(carol)
    response = post_json(client, f"{API}/tokens", {"name": "Sneaky"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_it_rejects_a_session_patch_without_a_csrf_token(alice, carol):
    response = patch_json(_csrf_client_for(alice), f"{API}/users/{carol.pk}", {"role": "admin"})
    assert response.status_code == 403
    assert _refetch(carol).role == Role.STAFF


def test_it_accepts_a_session_post_with_the_csrf_token(carol):
    client = _csrf_client_for(carol)
    client.get("/profile/")  # Sets the CSRF cookie.
    csrf_token = client.cookies["csrftoken"].value
    response = post_json(client, f"{API}/tokens", {"name": "Browser"}, headers={"X-CSRFToken": csrf_token})
    assert response.status_code == 201
    assert ApiToken.objects.get().name == "Browser"


def test_it_needs_no_csrf_token_with_a_bearer_token(carol, token_for):
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, f"{API}/tokens", {"name": "Script"}, headers=_bearer(token_for(carol)))
    assert response.status_code == 201


@pytest.mark.parametrize("revoked", [False, True], ids=["no-token", "revoked-token"])
def test_it_answers_401_not_a_csrf_failure_to_an_unauthenticated_post(carol, revoked):
    token, raw = services.create_api_token(user=carol, name="Script")
    services.revoke_api_token(user=carol, token=token)
    client = Client(enforce_csrf_checks=True)
    response = post_json(client, f"{API}/tokens", {"name": "Script"}, headers=_bearer(raw) if revoked else {})
    assert response.status_code == 401
    assert "Authentication required" in response.json()["detail"]
    assert ApiToken.objects.count() == 1


def test_it_allows_safe_session_requests_without_a_csrf_token(carol):
    assert _csrf_client_for(carol).get(f"{API}/me").status_code == 200


# Schema and documentation


def test_it_serves_the_openapi_schema(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Nexus API"
    for path in (
        "/api/v1/me",
        "/api/v1/organization",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/invitations",
        "/api/v1/invitations/{invitation_id}",
        "/api/v1/tokens",
        "/api/v1/tokens/{token_id}",
    ):
        assert path in schema["paths"], path
    assert set(schema["paths"]["/api/v1/users/{user_id}"]) == {"get", "patch"}
    assert {"ApiTokenAuth", "SessionAuth"} <= set(schema["components"]["securitySchemes"])


def test_it_serves_the_docs_page_without_external_assets(client):
    response = client.get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger" in html.lower()
    assets = re.findall(r"""<(?:script|link)\b[^>]*?(?:src|href)=["']([^"']+)["']""", html, flags=re.IGNORECASE)
    assert assets, "the page loads its scripts and styles from somewhere"
    external = [url for url in assets if re.match(r"^(https?:)?//", url)]
    assert external == []
    assert all(url.startswith("/static/") for url in assets)
