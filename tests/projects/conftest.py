"""Fixtures for the project tests: activities to link and a project factory."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from activities import services as activity_services
from projects import services


@pytest.fixture
def make_activity(acme, maria):
    """An Acme activity created by maria: `make_activity(title=..., status="completed", ends_in=...)`."""

    def make(title: str = "Replace bearings", *, status: str = "", ends_in: timedelta = timedelta(days=2), **fields):
        start = timezone.now() + fields.pop("starts_in", timedelta(days=1))
        fields.setdefault("type", "Maintenance")
        activity = activity_services.create_activity(
            organization=acme, actor=maria, title=title, start_time=start, end_time=start + ends_in, **fields
        )
        if status:
            activity = activity_services.change_status(actor=maria, activity=activity, status=status)
        return activity

    return make


@pytest.fixture
def globex_activity(globex, mallory):
    start = timezone.now()
    return activity_services.create_activity(
        organization=globex,
        actor=mallory,
        title="Globex secret work",
        type="Maintenance",
        start_time=start,
        end_time=start + timedelta(hours=2),
    )


@pytest.fixture
def make_project(maria):
    """An Acme project created by maria; any field may be overridden."""

    def make(name: str = "Line 2 retrofit", **fields):
        fields.setdefault("start_date", date(2026, 3, 1))
        fields.setdefault("end_date", date(2026, 6, 30))
        fields.setdefault("manager", maria)
        return services.create_project(actor=fields.pop("actor", maria), name=name, **fields)

    return make
