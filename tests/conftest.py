"""Shared fixtures: the personas of the house style (CONTRIBUTING.md) and helpers every test may use.

Personas: `alice` (admin), `maria` (manager), `bob` (technician) and `carol`
(staff) in Acme; `mallory` (admin) in Globex, the outsider.
"""

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from nexus.permissions import Role
from tests.api_client import JsonApi

PASSWORD = "correct-horse-battery"


def pytest_configure(config):
    # Tests never start the background scheduler thread; they call jobs directly.
    settings.NEXUS_EMBEDDED_SCHEDULER = False
    # Hashing at production strength costs about half a second a person; tests make hundreds.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Run the browser tests last, after pytest-django's own ordering.

    Playwright's sync API keeps an event loop running in the main thread for as
    long as the session-wide browser lives; an asyncio test after it could not
    start its own loop.
    """
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session", autouse=True)
def _close_connections_of_async_tests(django_db_setup):
    """Close the connections that consumers opened in asgiref's worker thread.

    Async tests run their database work in SyncToAsync's single worker thread;
    a connection left open there would stop the test database from being dropped.
    """
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    SyncToAsync.single_thread_executor.submit(connections.close_all).result(timeout=10)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clear_cache():
    # The cache may be a shared Redis in CI; allauth's rate limits live there.
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def acme(db):
    return services.create_organization(name="Acme Manufacturing", slug="acme-test", time_zone="Europe/Berlin")


@pytest.fixture
def globex(db):
    return services.create_organization(name="Globex", slug="globex-test")


def staff_members(organization, count: int) -> list:
    """`count` staff people of `organization`, named worker0, worker1, …"""
    return [_member(organization, f"worker{n}", Role.STAFF) for n in range(count)]


def _member(organization, username, role):
    return services.create_member(
        organization=organization,
        username=username,
        email=f"{username}@example.com",
        password=PASSWORD,
        role=role,
        first_name=username.capitalize(),
    )


@pytest.fixture
def alice(acme):
    return _member(acme, "alice", Role.ADMIN)


@pytest.fixture
def maria(acme):
    return _member(acme, "maria", Role.MANAGER)


@pytest.fixture
def bob(acme):
    return _member(acme, "bob", Role.TECHNICIAN)


@pytest.fixture
def carol(acme):
    return _member(acme, "carol", Role.STAFF)


@pytest.fixture
def mallory(globex):
    return _member(globex, "mallory", Role.ADMIN)


@pytest.fixture
def client_for():
    """A logged-in test client for a user: `client_for(alice)`."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user, backend="accounts.backends.ModelBackend")
        return client

    return make


@pytest.fixture
def broadcasts(monkeypatch):
    """Record every event sent to the channel layer as (group, event), instead of sending it."""
    from channels.layers import get_channel_layer

    sent = []
    layer = get_channel_layer()

    async def record(group, event):
        sent.append((group, event))

    monkeypatch.setattr(layer, "group_send", record)
    monkeypatch.setattr("nexus.realtime._redis_publisher", lambda layer: None)  # Redis or not, through group_send.
    return sent


@pytest.fixture
def demo_people(db):
    """The demo organizations and people of `populate_users`."""
    from tests.commands import run_command

    run_command("populate_users")


# The test server's connections to PostgreSQL carry this name, so tests can count them.
TEST_SERVER_APPLICATION = "nexus-test-server"


def _child_setup():
    """Runs first in the forked server process.

    The fork copies the parent's thread state, including the event loop that
    Playwright's sync API keeps running (the child must not believe it runs inside
    it), the parent's channel layer, whose queues belong to the parent's loops, and
    asgiref's database executor, whose worker thread did not survive the fork.
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from django.db import connections

    asyncio.events._set_running_loop(None)
    channel_layers.backends.clear()
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    # The parent's database connections and connection pool (PostgreSQL) are its sockets: the child
    # forgets them without closing them, and opens its own.
    for wrapper in connections.all(initialized_only=True):
        wrapper.connection = None
        getattr(type(wrapper), "_connection_pools", {}).clear()
    if connections["default"].vendor == "postgresql":
        connections["default"].settings_dict["OPTIONS"]["application_name"] = TEST_SERVER_APPLICATION


def _wait_for_test_server_connections_to_close(timeout: float = 10) -> None:
    """PostgreSQL notices a killed server's connections a moment later; the test database can't be dropped before."""
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "select count(*) from pg_stat_activity where application_name = %s", [TEST_SERVER_APPLICATION]
            )
            if cursor.fetchone()[0] == 0:
                return
        time.sleep(0.1)
    # No channels.testing.live.set_database_connection(): the parent already points
    # the settings at the test database, and that helper would prefix "test_" again.


@pytest.fixture
def asgi_live_server(transactional_db, settings):
    """Nexus under daphne in a child process, sockets and all, on the test database.

    pytest-django's live_server speaks only HTTP (WSGI); realtime needs ASGI. The
    child is forked after the test database exists, so it inherits its settings.
    """
    from functools import partial

    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    process = DaphneProcess(
        "localhost", partial(make_application, static_wrapper=ASGIStaticFilesHandler), setup=_child_setup
    )
    process.start()
    while not process.ready.wait(timeout=1):
        if not process.is_alive():
            raise RuntimeError("The daphne test server stopped before it was ready.")
    yield f"http://localhost:{process.port.value}"
    process.terminate()
    process.join(timeout=10)
    _wait_for_test_server_connections_to_close()


@pytest.fixture
def api_as(client_for):
    """`api_as(maria)`: a JSON client for the API (tests/api_client.py), logged in through the session."""
    return lambda user: JsonApi(client_for(user))
