"""A database that is busy or away answers 503 with Retry-After, on pages and on the API, never a bare 500."""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def _make_database_busy(monkeypatch):
    """Every session read fails as a timed-out pool or a restarting server does, before any view runs."""

    def fail(self):
        raise OperationalError("couldn't get a connection after 30.00 sec")

    monkeypatch.setattr(SessionStore, "load", fail)


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user, backend="accounts.backends.ModelBackend")
    return client


def test_it_answers_a_page_with_503_and_a_page_that_retries(carol, monkeypatch):
    client = _client(carol)
    _make_database_busy(monkeypatch)
    response = client.get("/activities/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert b"Nexus is busy" in response.content
    assert b'http-equiv="refresh"' in response.content


def test_it_answers_the_api_with_503_json(carol, monkeypatch):
    client = _client(carol)
    _make_database_busy(monkeypatch)
    response = client.get("/api/v1/activities")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again" in response.json()["detail"]


def test_it_leaves_other_errors_a_500_json_on_the_api(carol, monkeypatch):
    from activities import api

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(api.selectors, "activities_for", broken)
    response = _client(carol).get("/api/v1/activities")
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on the server; it has been logged."}
