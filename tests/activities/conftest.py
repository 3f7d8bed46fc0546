"""Fixtures for activities: a maker for activities and a few tags in Acme and Globex."""

from datetime import timedelta

import pytest
from django.utils import timezone

from activities import services
from activities.models import ActivityType


@pytest.fixture
def make_activity(maria):
    """`make_activity(title=..., **fields)`: an activity in maria's organization, created by maria."""

    def make(title: str = "Replace spindle bearing", actor=None, organization=None, **fields):
        now = timezone.now()
        fields.setdefault("type", ActivityType.MAINTENANCE)
        fields.setdefault("start_time", now)
        fields.setdefault("end_time", now + timedelta(hours=4))
        actor = actor or maria
        return services.create_activity(
            organization=organization or actor.organization, actor=actor, title=title, **fields
        )

    return make


@pytest.fixture
def safety_tag(maria):
    return services.create_tag(actor=maria, organization=maria.organization, name="Safety", color="#DC2626")


@pytest.fixture
def globex_tag(mallory):
    return services.create_tag(actor=mallory, organization=mallory.organization, name="Globex only")
