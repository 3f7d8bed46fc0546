import pytest

from chat import services


@pytest.fixture
def crew(maria, bob, carol):
    """A group of maria (owner), bob and carol."""
    return services.create_group(actor=maria, name="Night shift", members=[bob, carol])


@pytest.fixture
def general(maria):
    """A channel maria opened; others join it."""
    return services.create_channel(actor=maria, name="general", topic="Everything else")
