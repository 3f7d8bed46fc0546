from tests.redis_server import own_redis  # noqa: F401 -- a Redis of the test's own, to stop and start
