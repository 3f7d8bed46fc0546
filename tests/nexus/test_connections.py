"""Database connections are bounded per process: a burst of requests queues for the pool instead of failing."""

import threading
from collections import Counter
from urllib.parse import urlsplit

import pytest
from django.db import connection

from accounts import services
from tests.conftest import TEST_SERVER_APPLICATION

BURST = 200
POOL_SIZE = 4

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="The connection pool is PostgreSQL's.")


@pytest.fixture
def small_pool():
    """A pool of POOL_SIZE connections for the test server forked after this."""
    options = connection.settings_dict["OPTIONS"]
    saved = options["pool"]
    options["pool"] = {**saved, "min_size": 1, "max_size": POOL_SIZE}
    yield
    options["pool"] = saved


def _server_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from pg_stat_activity where application_name = %s", [TEST_SERVER_APPLICATION])
        return cursor.fetchone()[0]


def test_it_answers_a_burst_of_200_simultaneous_requests_without_a_5xx(small_pool, asgi_live_server, maria):
    import http.client

    _token, raw = services.create_api_token(user=maria, name="burst")
    address = urlsplit(asgi_live_server)
    statuses: Counter = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(BURST)
    peak = [0]
    done = threading.Event()

    def request():
        client = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
        try:
            client.connect()
            barrier.wait(timeout=60)
            client.request("GET", "/api/v1/activities", headers={"Authorization": f"Bearer {raw}"})
            response = client.getresponse()
            response.read()
            status = response.status
        except OSError as error:
            status = type(error).__name__
        finally:
            client.close()
        with lock:
            statuses[status] += 1

    def sample():
        while not done.wait(0.05):
            peak[0] = max(peak[0], _server_connections())

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = [threading.Thread(target=request) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    done.set()
    sampler.join()

    assert statuses == Counter({200: BURST})
    assert 1 <= peak[0] <= POOL_SIZE
