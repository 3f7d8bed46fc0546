"""The demo data commands: `populate_all` (and the `populate_users` it runs)."""

import io

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command

from accounts.models import ApiToken, Invitation, Organization, User, UserProfile
from nexus.permissions import Role

pytestmark = pytest.mark.django_db

ACME_PEOPLE = {
    "alice": Role.ADMIN,
    "maria": Role.MANAGER,
    "tom": Role.TECHNICIAN,
    "tina": Role.TECHNICIAN,
    "sam": Role.STAFF,
    "sue": Role.STAFF,
}


def _populate() -> str:
    out = io.StringIO()
    call_command("populate_all", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def _snapshot() -> dict:
    return {
        "organizations": list(
            Organization.objects.order_by("slug").values_list(
                "pk", "slug", "name", "corporate_id", "contact_email", "subscription_tier", "time_zone"
            )
        ),
        "users": list(
            User.objects.order_by("username").values_list(
                "pk", "username", "email", "role", "organization__slug", "password", "is_active"
            )
        ),
        "profiles": list(
            UserProfile.objects.order_by("user__username").values_list(
                "user__username", "phone", "department", "position"
            )
        ),
        "email_addresses": list(
            EmailAddress.objects.order_by("email").values_list("email", "verified", "primary", "user__username")
        ),
        "invitations": Invitation.objects.count(),
        "tokens": ApiToken.objects.count(),
    }


def test_it_changes_nothing_when_run_twice():
    first_output = _populate()
    first = _snapshot()
    second_output = _populate()
    assert _snapshot() == first
    assert len(first["organizations"]) == 2
    assert len(first["users"]) == 7
    assert len(first["profiles"]) == 7
    assert len(first["email_addresses"]) == 7
    assert "7 people created, 0 already there" in first_output
    assert "0 people created, 7 already there" in second_output
    assert "created organization" not in second_output


def test_it_puts_the_demo_people_in_their_organizations_with_their_roles():
    _populate()
    acme = Organization.objects.get(slug="acme")
    globex = Organization.objects.get(slug="globex")
    assert acme.name == "Acme Manufacturing"
    assert globex.name == "Globex"
    assert dict(acme.members.values_list("username", "role")) == ACME_PEOPLE
    assert list(globex.members.values_list("username", "role")) == [("mallory", Role.ADMIN)]
    assert User.objects.filter(is_active=True).count() == 7
    alice = User.objects.get(username="alice")
    assert (alice.first_name, alice.email, alice.profile.department) == ("Alice", "alice@acme.example", "Plant IT")
    assert EmailAddress.objects.get(user=alice).verified


@pytest.mark.parametrize("username", [*ACME_PEOPLE, "mallory"])
def test_it_lets_every_demo_person_log_in(client, username):
    _populate()
    # The documented demo password, spelled out rather than imported.
    assert client.login(username=username, password="nexus-demo")
    assert client.get("/").status_code == 200


def test_it_fills_in_people_missing_from_an_earlier_run():
    _populate()
    User.objects.filter(username="sue").delete()
    before = {row[1]: row for row in _snapshot()["users"]}
    output = _populate()
    after = {row[1]: row for row in _snapshot()["users"]}
    assert "1 people created, 6 already there" in output
    assert set(after) == set(before) | {"sue"}
    assert all(after[name] == before[name] for name in before)
    assert after["sue"][3:5] == (Role.STAFF, "acme")


def test_it_lists_the_demo_logins():
    output = _populate()
    assert "password: nexus-demo" in output
    for username in [*ACME_PEOPLE, "mallory"]:
        assert username in output
