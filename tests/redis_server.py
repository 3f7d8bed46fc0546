"""A Redis server of the test's own, which the test may stop and start again on the same port.

`own_redis` starts one, points the cache and the channel layer at it (the same
fail-soft backends production uses) and forgets every shared client and
recorded outage before and after. Skipped where redis-server is not installed.
Never touches the machine's main Redis.
"""

import os
import shutil
import socket
import subprocess
import time

import pytest
import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 -- the system's redis-server, fixed arguments
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except redis.exceptions.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2)

    def connected_clients(self) -> int:
        """Clients connected now, not counting the one that asks."""
        with self.client() as client:
            return len(client.client_list()) - 1


def _forget_clients() -> None:
    from nexus import cache, degraded

    cache.reset_shared_clients()
    degraded.reset()


@pytest.fixture
def own_redis(settings):
    if not os.path.exists(REDIS_SERVER):
        pytest.skip("redis-server is not installed")
    server = RedisServer(_free_port())
    server.start()
    _forget_clients()
    settings.CACHES = {
        "default": {
            "BACKEND": "nexus.cache.FailSoftRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "outage-test",
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 2.0},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "nexus.layers.FailSoftRedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": server.url, "socket_timeout": None, "socket_connect_timeout": 1.0}],
                "prefix": "outage-test",
            },
        }
    }
    try:
        yield server
    finally:
        server.stop()
        _forget_clients()
