import os
import subprocess
import sys
import time

import pytest
from django.db import connection

import nexus
from nexus import health

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def celery_worker_when_configured():
    """With REDIS_URL the health check pings celery, so run a real worker process for it."""
    from django.conf import settings

    if not settings.NEXUS_HEALTH_CELERY:
        yield None
        return
    worker = subprocess.Popen(  # noqa: S603 -- our own interpreter and module
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "nexus",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--hostname",
            f"health-test-{os.getpid()}@%h",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "nexus.settings"},
    )
    try:
        deadline = time.monotonic() + 60
        while not nexus.celery_app.control.ping(timeout=1.0):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the celery worker did not start")
        yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_it_reports_healthy_without_authentication(client, celery_worker_when_configured):
    response = client.get("/health/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert body["failing"] == []
    assert set(body["checks"]) == {"database", "cache", "channel_layer", "celery"}
    assert all(check["ok"] for check in body["checks"].values())
    assert body["version"]
    assert body["checks"]["database"]["detail"] == connection.vendor


def test_it_names_a_failing_helper_as_degraded_and_still_answers_200(
    client, monkeypatch, celery_worker_when_configured
):
    """Pages are still served without the cache: a 503 would take every web process out of rotation."""

    def broken_cache():
        raise ConnectionError("cache server unreachable")

    monkeypatch.setitem(health.CHECKS, "cache", broken_cache)
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["failing"] == ["cache"]
    assert "unreachable" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["ok"] is True


def test_it_reports_a_missing_celery_worker(client, settings, monkeypatch):
    settings.NEXUS_HEALTH_CELERY = True
    monkeypatch.setattr(health, "CHECK_TIMEOUT", 0.2)
    monkeypatch.setattr(health.nexus.celery_app.control, "ping", lambda timeout: [])
    response = client.get("/health/")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["failing"] == ["celery"]


def test_it_fails_with_503_when_the_database_errors(client, monkeypatch):
    def broken_database():
        raise RuntimeError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", broken_database)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "failing"
    assert "database" in response.json()["failing"]


def test_it_rejects_other_methods(client):
    assert client.post("/health/").status_code == 405
