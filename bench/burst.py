"""Benchmark: a burst of simultaneous API requests against two hub processes, with and without the pool.

Serves Nexus under daphne (ASGI, where every concurrent request runs in its own thread and takes its own
database connection) as two processes on PostgreSQL, and fires BURST requests at once (half at each
process, every one on its own connection, all released by one barrier) at an authenticated API list,
several rounds. It runs twice in the same run:

- baseline: no pool (`DATABASE_POOL_SIZE=0`, persistent connections, `DATABASE_CONN_MAX_AGE=60`), as
  Nexus was configured before: each concurrent request opened its own connection, nothing bounded them,
  and past PostgreSQL's `max_connections` requests failed with "sorry, too many clients already";
- pooled: the default, `DATABASE_POOL_SIZE` connections per process (psycopg's pool); the burst queues.

For each it prints the answers by status, the 5xx count, the most connections the two processes held
at once (sampled from pg_stat_activity) and the p50 / p99 / max time to an answer. Goal (issue 13): no
5xx in a burst of 200, and connections bounded by processes x pool size.

    .venv/bin/python bench/burst.py
    .venv/bin/python bench/burst.py --burst 400 --pool-size 5 --rounds 2

Uses DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/nexus_bench_burst (created when
missing). Loopback only; bounded in count and time.
"""

import argparse
import http.client
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.activities import _free_port, _wait_until_up, setup_django  # noqa: E402 -- after the path is set

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/nexus_bench_burst"
PATH = "/api/v1/activities?limit=20"


def _prepare() -> str:
    """The bench organization with a few activities and a manager's API token (a new one each run)."""
    from django.utils import timezone

    from accounts import services as accounts_services
    from accounts.models import Organization, User
    from activities import services
    from activities.models import Activity

    organization = Organization.objects.filter(slug="bench-burst").first() or accounts_services.create_organization(
        name="Burst Works", slug="bench-burst"
    )
    manager = User.objects.filter(username="burst-manager").first() or accounts_services.create_member(
        organization=organization,
        username="burst-manager",
        email="burst@bench.example",
        password="bench-pass-1",
        role="manager",
    )
    for n in range(Activity.objects.filter(organization=organization).count(), 40):
        services.create_activity(
            organization=organization,
            actor=manager,
            title=f"Burst activity {n:02d}",
            type="Maintenance",
            start_time=timezone.now(),
            end_time=timezone.now() + timedelta(hours=n + 1),
        )
    _token, raw = accounts_services.create_api_token(user=manager, name=f"burst {time.time():.0f}")
    return raw


def _connections(database: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_stat_activity where datname = %s and application_name = 'nexus-burst'",
            [database],
        )
        return cursor.fetchone()[0]


def _burst(ports: list[int], size: int, token: str) -> tuple[Counter, list[float]]:
    """Fire `size` requests at once, alternating between the ports; their statuses and latencies."""
    statuses: Counter = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(size)

    def one(port: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            connection.connect()
            barrier.wait(timeout=60)
            started = time.perf_counter()
            connection.request("GET", PATH, headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as error:
            status, started = type(error).__name__, None
        finally:
            connection.close()
        with lock:
            statuses[status] += 1
            if started is not None:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=one, args=(ports[n % len(ports)],)) for n in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return statuses, sorted(latencies)


def _run(mode: str, environment: dict, args, token: str, database: str) -> dict:
    ports = [_free_port() for _ in range(args.processes)]
    servers = [
        subprocess.Popen(  # noqa: S603 -- our own interpreter and fixed arguments
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "nexus.asgi:application"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    peak = [0]
    sampling = threading.Event()

    def sample():
        while not sampling.is_set():
            peak[0] = max(peak[0], _connections(database))
            time.sleep(0.05)

    try:
        for port in ports:
            _wait_until_up(port)
        _burst(ports, 4, token)  # Warm up: imports, the first connection of each process.
        sampler = threading.Thread(target=sample)
        sampler.start()
        statuses: Counter = Counter()
        latencies: list[float] = []
        for _ in range(args.rounds):
            round_statuses, round_latencies = _burst(ports, args.burst, token)
            statuses.update(round_statuses)
            latencies.extend(round_latencies)
        sampling.set()
        sampler.join()
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else float("nan")

    failed = sum(count for status, count in statuses.items() if not (isinstance(status, int) and status < 500))
    return {
        "mode": mode,
        "statuses": statuses,
        "failed": failed,
        "peak": peak[0],
        "p50": percentile(0.5),
        "p99": percentile(0.99),
        "max": latencies[-1] * 1000 if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burst", type=int, default=200, help="simultaneous requests per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--pool-size", type=int, default=10, help="DATABASE_POOL_SIZE of the pooled run")
    args = parser.parse_args()

    setup_django(DEFAULT_DATABASE)
    from django.conf import settings

    token = _prepare()
    database = settings.DATABASES["default"]["NAME"]
    # Tag the servers' connections so the sampler counts theirs alone.
    base = {**os.environ, "DJANGO_DEBUG": "0", "PGAPPNAME": "nexus-burst"}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("show max_connections")
        max_connections = int(cursor.fetchone()[0])
    print(
        f"{args.rounds} rounds of {args.burst} simultaneous GET {PATH} against {args.processes} daphne processes "
        f"(PostgreSQL max_connections={max_connections})"
    )
    results = [
        _run(
            "baseline: no pool",
            {**base, "DATABASE_POOL_SIZE": "0", "DATABASE_CONN_MAX_AGE": "60"},
            args,
            token,
            database,
        ),
        _run(
            f"pooled: {args.pool_size} per process",
            {**base, "DATABASE_POOL_SIZE": str(args.pool_size)},
            args,
            token,
            database,
        ),
    ]
    print(
        f"\n{'run':<28} {'answers':<34} {'5xx/failed':>10} {'peak conns':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    for result in results:
        answers = ", ".join(f"{status}: {count}" for status, count in sorted(result["statuses"].items(), key=str))
        print(
            f"{result['mode']:<28} {answers[:34]:<34} {result['failed']:>10} {result['peak']:>10} "
            f"{result['p50']:8.0f} {result['p99']:8.0f} {result['max']:8.0f}"
        )
    pooled = results[1]
    bound = args.processes * args.pool_size
    verdict = "meets" if pooled["failed"] == 0 and pooled["peak"] <= bound else "misses"
    print(
        f"\nPooled: {pooled['failed']} failed of {args.rounds * args.burst}, at most {pooled['peak']} connections "
        f"(bound {bound}): {verdict} the goal of no 5xx with bounded connections."
    )


if __name__ == "__main__":
    main()
