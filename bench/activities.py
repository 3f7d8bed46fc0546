"""Benchmark: the filtered activity list with 100,000 activities (5 tags each).

Serves Nexus the way production does (gunicorn, WSGI, 2 workers) and measures,
in the same run and with the same load generator, a trivial view (the baseline)
and the activity list page with filters. The two alternate over several rounds
and the medians are compared, so that a slow spell of a shared machine falls on
both. Prints requests/s and p95 of each and the list's share of the baseline.
Goal (issue 3): at least 25%.

    .venv/bin/python bench/activities.py                    # PostgreSQL database nexus_bench
    .venv/bin/python bench/activities.py --activities 20000 --rounds 3 --seconds 3

It uses DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/nexus_bench
(created when missing). Data are created once and reused by later runs.
"""

import argparse
import os
import random
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/nexus_bench"
TAGS_PER_ACTIVITY = 5
LIST_PATH = "/activities/?status=in-progress&status=planned&priority=high&sort=due"


def ensure_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database when it is missing."""
    if not url.startswith("postgres"):
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if not connection.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            connection.execute(f'create database "{name}"')


def setup_django(default_database: str) -> None:
    """Django with the bench settings on DATABASE_URL (else `default_database`, created when missing), migrated."""
    database_url = os.environ.get("DATABASE_URL") or default_database
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    ensure_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _populate(count: int) -> tuple[int, str]:
    """Make sure the bench organization has `count` activities; return a user id and session key."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from accounts import services as accounts_services
    from accounts.models import Organization, User
    from activities import services
    from activities.models import Activity, ActivityType, Priority, Status, Tag

    organization = Organization.objects.filter(slug="bench").first() or accounts_services.create_organization(
        name="Bench Works", slug="bench"
    )
    manager = User.objects.filter(username="bench-manager").first() or accounts_services.create_member(
        organization=organization,
        username="bench-manager",
        email="bench@bench.example",
        password="bench-pass-1",
        role="manager",
        first_name="Bench",
    )
    people = [manager] + [
        User.objects.filter(username=f"bench-tech-{n}").first()
        or accounts_services.create_member(
            organization=organization,
            username=f"bench-tech-{n}",
            email=f"tech{n}@bench.example",
            password="bench-pass-1",
            role="technician",
        )
        for n in range(8)
    ]
    tags = list(Tag.objects.filter(organization=organization))
    for n in range(len(tags), 30):
        tags.append(services.create_tag(actor=None, organization=organization, name=f"Tag {n:02d}"))
    existing = Activity.objects.filter(organization=organization).count()
    rng = random.Random(7)
    now = timezone.now()
    batch = 5000
    for start in range(existing, count, batch):
        size = min(batch, count - start)
        with transaction.atomic():
            activities = Activity.objects.bulk_create(
                Activity(
                    organization=organization,
                    title=f"Bench activity {start + i:06d}",
                    description="Check, clean and lubricate; record readings.",
                    type=rng.choice(ActivityType.values),
                    status=rng.choice(Status.values),
                    priority=rng.choice(Priority.values),
                    start_time=now - timedelta(hours=rng.randint(0, 2000)),
                    end_time=now + timedelta(hours=rng.randint(0, 2000)),
                    assigned_to=rng.choice([None, *people]),
                    created_by=manager,
                )
                for i in range(size)
            )
            Activity.tags.through.objects.bulk_create(
                Activity.tags.through(activity_id=activity.pk, tag_id=tag.pk)
                for activity in activities
                for tag in rng.sample(tags, TAGS_PER_ACTIVITY)
            )
        print(f"\r  activities: {start + size:,}/{count:,}", end="", flush=True)
    if existing < count:
        print()
        # Fresh planner statistics and visibility map, as autovacuum keeps them on a live system.
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    session = SessionStore()
    session[SESSION_KEY] = str(manager.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.ModelBackend"
    session[HASH_SESSION_KEY] = manager.get_session_auth_hash()
    session.create()
    return manager.pk, session.session_key


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def _median_round(results: list[dict]) -> dict:
    """The round with the median throughput (its latencies with it), errors summed over all rounds."""
    middle = sorted(results, key=lambda result: result["rps"])[len(results) // 2]
    return {**middle, "errors": sum(result["errors"] for result in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each view")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    setup_django(DEFAULT_DATABASE)
    from bench.loadgen import measure

    print(f"Preparing {args.activities:,} activities with {TAGS_PER_ACTIVITY} tags each …")
    _user_id, session_key = _populate(args.activities)

    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 -- our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "gunicorn",
            "nexus.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, "DJANGO_DEBUG": "0"},
    )
    try:
        _wait_until_up(port)
        cookie = {"Cookie": f"sessionid={session_key}"}
        for path in ("/bench/trivial/", LIST_PATH):  # warm up both
            measure(port, path, seconds=1, concurrency=2, headers=cookie)
        rounds = []
        for n in range(args.rounds):
            baseline = measure(
                port, "/bench/trivial/", seconds=args.seconds, concurrency=args.concurrency, headers=cookie
            )
            listing = measure(port, LIST_PATH, seconds=args.seconds, concurrency=args.concurrency, headers=cookie)
            rounds.append((baseline, listing))
            print(
                f"  round {n + 1}: trivial {baseline['rps']:.0f} req/s, list {listing['rps']:.0f} req/s "
                f"({listing['rps'] / baseline['rps'] * 100 if baseline['rps'] else 0:.1f}%)"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    baseline = _median_round([trivial for trivial, _ in rounds])
    listing = _median_round([page for _, page in rounds])

    print(
        f"\nServer: gunicorn, {args.workers} workers; client: {args.concurrency} connections; "
        f"medians of {args.rounds} rounds of {args.seconds:g} s each"
    )
    print(f"{'view':<44} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for name, result in (("trivial view (baseline)", baseline), (f"list {LIST_PATH}", listing)):
        print(
            f"{name[:44]:<44} {result['rps']:8.1f} {result['p50_ms']:8.1f} {result['p95_ms']:8.1f} "
            f"{result['errors']:7d}"
        )
    share = listing["rps"] / baseline["rps"] * 100 if baseline["rps"] else 0.0
    verdict = "meets" if share >= 25 else "misses"
    print(f"\nThe list page runs at {share:.1f}% of the trivial view's throughput ({verdict} the 25% goal).")
    if baseline["errors"] or listing["errors"]:
        sys.exit("Some requests failed; the figures are not valid.")


if __name__ == "__main__":
    main()
