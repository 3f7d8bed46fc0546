"""Benchmark: pages under plain daphne (ASGI) against `manage.py serve`'s split (gunicorn for pages).

Issue 14 measured /activities/ at 74 requests/s under daphne and 174 under gunicorn with
two workers. This script measures both setups in the same run, on the demo data
(`populate_all`), as the logged-in demo admin: the home page and /activities/.
Both servers run side by side on PostgreSQL and Redis; the rounds alternate between
them so that a slow spell of a shared machine falls on both, and the medians are
compared.

    .venv/bin/python bench/pages.py                       # PostgreSQL nexus_bench_pages, Redis db 15
    .venv/bin/python bench/pages.py --rounds 3 --seconds 3

It uses DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/nexus_bench_pages
(created and filled with the demo data when missing), and REDIS_URL when set, else
redis://127.0.0.1:6379/15.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/nexus_bench_pages"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
PATHS = ("/", "/activities/")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port}")


def _prepare() -> str:
    """The demo data in the bench database; returns a session key of the demo admin (alice)."""
    from bench.activities import ensure_database

    ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from accounts.models import User

    call_command("migrate", verbosity=0)
    if not User.objects.filter(username="alice").exists():
        print("Loading the demo data (populate_all) …")
        call_command("populate_all", stdout=open(os.devnull, "w"))  # noqa: SIM115 -- closed at exit
    alice = User.objects.get(username="alice")
    session = SessionStore()
    session[SESSION_KEY] = str(alice.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.ModelBackend"
    session[HASH_SESSION_KEY] = alice.get_session_auth_hash()
    session.create()
    return session.session_key


def _median_round(results: list[dict]) -> dict:
    middle = sorted(results, key=lambda result: result["rps"])[len(results) // 2]
    return {**middle, "errors": sum(result["errors"] for result in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each setup and page")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers of the split setup")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (serve's default 4)")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    os.environ["REDIS_URL"] = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    os.environ.setdefault("NEXUS_CHANNEL_PREFIX", "bench-pages")
    os.environ.setdefault("NEXUS_CACHE_PREFIX", "bench-pages")
    os.environ["DJANGO_SETTINGS_MODULE"] = "nexus.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "NEXUS_LOG_LEVEL": "WARNING",
        "NEXUS_HEALTH_CELERY": "0",
    }
    from bench.loadgen import measure

    session_key = _prepare()
    cookie = {"Cookie": f"sessionid={session_key}"}

    daphne_port, split_port = _free_port(), _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    # Both write an access line per request (daphne always does; serve gives gunicorn one), so that is even.
    daphne = subprocess.Popen(  # noqa: S603 -- our own interpreter and fixed arguments
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(daphne_port), "nexus.asgi:application"],
        cwd=ROOT,
        env=env,
        **quiet,
    )
    gunicorn_options = ["--workers", str(args.workers), "--threads", str(args.threads)]
    split = subprocess.Popen(  # noqa: S603 -- our own interpreter and fixed arguments
        [sys.executable, "manage.py", "serve", "--port", str(split_port), *gunicorn_options],
        cwd=ROOT,
        env=env,
        **quiet,
    )
    setups = {
        "daphne (everything under ASGI)": daphne_port,
        f"serve (gunicorn {args.workers}x{args.threads} threads)": split_port,
    }
    results: dict[tuple[str, str], list[dict]] = {}
    try:
        for port in setups.values():
            _wait_until_up(port)
        for port in setups.values():
            for path in PATHS:
                measure(port, path, seconds=1, concurrency=2, headers=cookie)  # warm up
        for n in range(args.rounds):
            line = []
            for path in PATHS:
                for name, port in setups.items():
                    result = measure(port, path, seconds=args.seconds, concurrency=args.concurrency, headers=cookie)
                    results.setdefault((name, path), []).append(result)
                    line.append(f"{path} {name.split()[0]} {result['rps']:.0f}")
            print(f"  round {n + 1}: " + ", ".join(line) + " req/s")
    finally:
        for process in (daphne, split):
            process.terminate()
        for process in (daphne, split):
            process.wait(timeout=30)

    print(
        f"\nDemo data, logged in as alice; client: {args.concurrency} connections; "
        f"medians of {args.rounds} rounds of {args.seconds:g} s each"
    )
    print(f"{'page':<14} {'setup':<34} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    failed = False
    for path in PATHS:
        medians = {name: _median_round(results[(name, path)]) for name in setups}
        for name, result in medians.items():
            failed = failed or bool(result["errors"])
            print(
                f"{path:<14} {name:<34} {result['rps']:8.1f} {result['p50_ms']:8.1f} {result['p95_ms']:8.1f} "
                f"{result['errors']:7d}"
            )
        baseline, split_result = medians.values()
        ratio = split_result["rps"] / baseline["rps"] if baseline["rps"] else 0.0
        print(f"{'':<14} the split serves {ratio:.2f}x daphne's requests/s")
    if failed:
        sys.exit("Some requests failed; the figures are not valid.")


if __name__ == "__main__":
    main()
