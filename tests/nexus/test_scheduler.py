"""Embedded mode: periodic jobs fire in-process without celery beat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import Invitation
from nexus import scheduler
from nexus.celery import app
from nexus.permissions import Role

pytestmark = pytest.mark.django_db


def _stale_invitation(alice):
    invitation, _ = services.invite_user(inviter=alice, email="old@example.com", role=Role.STAFF)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=40))
    return invitation


def test_it_runs_a_due_job_once_per_period(alice):
    _stale_invitation(alice)
    app.loader.import_default_modules()
    embedded = scheduler.EmbeddedScheduler(
        {"purge": {"task": "accounts.tasks.purge_expired_invitations", "schedule": timedelta(minutes=5)}}, app
    )
    now = timezone.now()
    embedded.tick(now)
    assert Invitation.objects.count() == 1  # not due yet: it started just now

    embedded.entries[0]["last_run_at"] = now - timedelta(minutes=6)
    embedded.tick(now)
    assert Invitation.objects.count() == 0
    assert embedded.entries[0]["last_run_at"] == now


def test_it_keeps_running_after_a_job_fails(alice, monkeypatch):
    app.loader.import_default_modules()
    embedded = scheduler.EmbeddedScheduler(
        {"purge": {"task": "accounts.tasks.purge_expired_invitations", "schedule": timedelta(seconds=1)}}, app
    )

    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "purge_expired_invitations", explode)
    embedded.entries[0]["last_run_at"] = timezone.now() - timedelta(minutes=1)
    assert embedded.tick() >= 1.0  # the failure is logged, the loop goes on


def test_it_reads_the_same_schedule_as_celery_beat(settings):
    app.loader.import_default_modules()
    assert "purge-expired-invitations" in settings.CELERY_BEAT_SCHEDULE
    embedded = scheduler.EmbeddedScheduler(settings.CELERY_BEAT_SCHEDULE, app)
    assert {entry["task"] for entry in embedded.entries} == {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    for entry in embedded.entries:
        assert entry["task"] in app.tasks


def test_it_starts_only_when_enabled(settings, monkeypatch):
    monkeypatch.setattr(scheduler, "_thread", None)
    settings.NEXUS_EMBEDDED_SCHEDULER = False
    assert scheduler.start_if_embedded() is False
    assert scheduler._thread is None
