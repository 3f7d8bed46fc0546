"""With DEBUG off, errors get the hub's own pages: no URL list, no traceback, a way home."""

import pytest
from django.template import loader
from django.test import Client, override_settings
from django.urls import reverse


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return client


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_it_answers_a_bad_url_with_the_hubs_404_and_no_url_list(carol):
    response = _client(carol).get("/no-such-page/at-all/")
    assert response.status_code == 404
    assert response.templates[0].name == "404.html"
    body = response.content.decode()
    assert 'data-testid="error-404"' in body
    assert "There is nothing here" in body
    # Django's debug page lists the URL patterns it tried; the hub's page names none of them.
    assert "URLconf" not in body
    assert "Page not found (404)" not in body
    assert "django-admin" not in body
    # It is a page of the hub: the person's navigation and socket, like any other page.
    assert 'data-testid="header-username"' in body


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_it_gives_an_anonymous_visitor_the_404_with_a_login_link(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b'data-testid="error-404"' in response.content
    assert reverse("account_login").encode() in response.content


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_it_answers_a_role_limit_with_the_hubs_403(carol):
    response = _client(carol).get(reverse("projects:create"))
    assert response.status_code == 403
    assert response.templates[0].name == "403.html"
    assert b'data-testid="error-403"' in response.content
    assert b"Nothing was changed" in response.content


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_it_answers_an_unexpected_error_with_the_hubs_500_and_no_traceback(carol, monkeypatch):
    from activities import views

    def broken(*args, **kwargs):
        raise RuntimeError("a secret detail of the bug")

    monkeypatch.setattr(views.selectors, "ordered_activities", broken)
    response = _client(carol).get(reverse("activities:list"))
    assert response.status_code == 500
    body = response.content.decode()
    assert 'data-testid="error-500"' in body
    assert "a secret detail of the bug" not in body
    assert "Traceback" not in body


def test_it_renders_the_500_page_without_a_request_or_a_database():
    # No `db` fixture: pytest-django fails any query this makes, as a database that is down would.
    html = loader.render_to_string("500.html")
    assert 'data-testid="error-500"' in html
    assert "Something went wrong on our side" in html
    assert 'href="/"' in html


@pytest.mark.django_db
@override_settings(DEBUG=False)
def test_it_answers_a_form_without_its_csrf_token_with_the_hubs_page(carol):
    client = Client(enforce_csrf_checks=True)
    client.force_login(carol, backend="accounts.backends.ModelBackend")
    response = client.post(reverse("notifications-read-all"))
    assert response.status_code == 403
    assert b'data-testid="error-403-csrf"' in response.content
    assert b"Nothing was changed" in response.content
