"""Benchmark: realtime chat, 200 connected clients in conversations of 10, against a bare echo.

Serves /ws/ the way production does (one daphne process, `nexus.asgi`, PostgreSQL, Redis with
channels_redis' RedisPubSubChannelLayer) through `bench.chat_asgi`, which adds a bare echo socket at
/ws/echo/ to the same server process and stack (origin check, session authentication; see that module
for what "bare" leaves out). A load generator in a separate process (`bench/wsload.py`, asyncio, the
`websockets` client) opens one chat socket and one echo socket per client, lets the presence frames of
all those connects settle, warms up, then measures in the same run:

- the echo: frames/s, closed loop with one frame in flight per socket, before and after the chat steps;
- chat at rising send rates (open loop, each step `--seconds` long): sent/s, delivered/s during the step
  (every message reaches every member of its conversation, the sender included), p50/p99/max delivery
  latency (from the send to the receiver's decoding; the content carries the send time), p99 of the
  sender's "chat.sent" acknowledgement, deliveries still missing after a drain of `--drain-seconds`,
  and error frames. The ramp stops after a step that left more than half its deliveries missing.

Afterwards it checks that the database holds exactly one Message row per acknowledged send and that
every delivery arrived by the end of the run. The client shares the 2 cores with the server, PostgreSQL
and Redis: each line shows the CPU of the server, of the client, and of everything else.

Goals (issue 4): 200 clients, 200 messages/s sent (2,000 deliveries/s) with p99 under 100 ms, and peak
deliveries/s at 50% or more of the echo's throughput.

`--storm` measures the storm after a restart instead (issue 13): all chat sockets connect at once,
retrying as static/js/nexus.js does; the chat steps run; every socket is dropped and all reconnect at
once; the steps run again; last, the same storm of bare echo sockets is the baseline. Goals: 5,000
clients, all reconnected within 60 s, 200 messages/s at p99 under 100 ms among them.

    .venv/bin/python bench/chat.py                           # about 1-2 minutes
    .venv/bin/python bench/chat.py --clients 100 --group-size 5 --rates 50,100 --seconds 3
    .venv/bin/python bench/chat.py --profile /tmp/chat.txt   # py-spy the server during the chat steps
    .venv/bin/python bench/chat.py --processes 2             # two daphne processes on one socket
    .venv/bin/python bench/chat.py --what-if dispatch        # an experiment, see bench/chat_asgi.py
    .venv/bin/python bench/chat.py --storm --clients 5000 --processes 2 --rates 200

Uses DATABASE_URL when set, else postgres://postgres@127.0.0.1:5432/nexus_bench_chat (created when
missing), and REDIS_URL when set, else redis://127.0.0.1:6379/7, with its own channel and cache
prefixes. Users and conversations are created once and reused; the bench organization's messages and
its users' presence are cleared at the start of every run. The chat rate limits stay at their defaults
unless the fastest step needs more (the output says which).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.activities import ensure_database  # noqa: E402 -- after the path is set
from bench.wsload import AFTER_STORM  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/nexus_bench_chat"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
ORGANIZATION_SLUG = "bench-chat"
GOAL_CLIENTS, GOAL_RATE, GOAL_P99_MS, GOAL_SHARE = 200, 200, 100.0, 50.0
GOAL_STORM_CLIENTS, GOAL_STORM_SECONDS = 5000, 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
BUSY_MACHINE = 0.6  # "others" above this share of a core: not only PostgreSQL and Redis were running
PROJECT_PACKAGES = ("chat/", "nexus/", "accounts/", "bench/")
PY_SPY_OPTIONS = ["--format", "raw", "--rate", "200", "--subprocesses"]


def _populate(clients: int, group_size: int) -> tuple[list[dict], dict[int, int], list[int]]:
    """Users, conversations of `group_size` (user i is in conversation i // group_size) and fresh sessions.

    Returns the load generator's clients ({"session", "conversations"}), the member count of each
    conversation, and the conversation ids.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.cache import cache
    from django.test import override_settings

    from accounts import services as accounts_services
    from accounts.models import Organization, User
    from chat import presence
    from chat import services as chat_services
    from chat.models import Conversation, Message

    organization = Organization.objects.filter(slug=ORGANIZATION_SLUG).first()
    if organization is None:
        organization = accounts_services.create_organization(name="Bench Chat Works", slug=ORGANIZATION_SLUG)
    existing = {user.username: user for user in User.objects.filter(organization=organization)}
    people = []
    # Bench users only: a fast hasher so that the first run does not spend minutes on PBKDF2.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        for n in range(clients):
            username = f"bench-chat-{n:04d}"
            people.append(
                existing.get(username)
                or accounts_services.create_member(
                    organization=organization,
                    username=username,
                    email=f"{username}@bench.example",
                    password="bench-pass-1",
                    role="staff",
                    first_name="Bench",
                    last_name=f"{n:04d}",
                )
            )
    conversations, members = [], {}
    for start in range(0, clients, group_size):
        group = people[start : start + group_size]
        name = f"Bench g{group_size} {start // group_size:04d}"
        conversation = Conversation.objects.filter(organization=organization, name=name).first()
        if conversation is None or conversation.memberships.count() != len(group):
            if conversation is not None:  # an earlier run with other --clients; start that group afresh
                conversation.delete()
            conversation = chat_services.create_group(actor=group[0], name=name, members=group)
        conversations.append(conversation.pk)
        members[conversation.pk] = len(group)
    Message.objects.filter(organization=organization).delete()
    # Presence outlives a server that was stopped with sockets open; start every run with nobody online.
    cache.delete_many(
        [key for person in people for key in (presence._count_key(person.pk), presence._seen_key(person.pk))]
    )
    plan_clients = []
    for n, person in enumerate(people):
        session = SessionStore()
        session[SESSION_KEY] = str(person.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.ModelBackend"
        session[HASH_SESSION_KEY] = person.get_session_auth_hash()
        session.create()
        plan_clients.append({"session": session.session_key, "conversations": [conversations[n // group_size]]})
    return plan_clients, members, conversations


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL: daphne can hang at exit when a database thread still waits on the event loop."""
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        print("  (the server did not exit within 15 s of SIGTERM; killed)")
        server.kill()
        server.wait(timeout=15)


def _report_server_log(path: Path) -> None:
    """Count the server's exceptions by their last line; keep the log when there are any."""
    text = path.read_text(errors="replace")
    if not text.strip():
        return
    endings: dict[str, int] = {}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if line.startswith("Traceback (most recent call last)"):
            ending = next(
                (later for later in lines[number + 1 :] if later and not later.startswith((" ", "Traceback"))),
                "?",
            )
            endings[ending[:140]] = endings.get(ending[:140], 0) + 1
    kept = Path(tempfile.gettempdir()) / "nexus-bench-chat-server.log"
    shutil.copyfile(path, kept)
    print(f"\nServer log: {len(lines):,} lines, kept in {kept}")
    for ending, count in sorted(endings.items(), key=lambda item: -item[1]):
        print(f"  {count:5d} x {ending}")


def _py_spy() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        sys.exit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


def _machine_busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all cores, every process) since boot."""
    with open("/proc/stat") as file:
        fields = [int(value) for value in file.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


def _cpu_columns(record: dict) -> str:
    columns = " ".join(f"{record[key] * 100:6.0f}%" for key in ("server_cpu", "client_cpu", "other_cpu"))
    return columns + (" (busy machine)" if record["other_cpu"] > BUSY_MACHINE else "")


def _limits(clients: int, max_rate: float) -> tuple[dict, str]:
    """Raise the per-person and per-socket limits only when the fastest step needs it."""
    from django.conf import settings

    per_client = max_rate / clients
    env = {}
    if per_client > 0.8 * settings.CHAT_RATE_LIMIT / settings.CHAT_RATE_WINDOW:
        env["NEXUS_CHAT_RATE_LIMIT"] = str(int(per_client * settings.CHAT_RATE_WINDOW * 3) + 10)
    if per_client > 0.8 * settings.WS_FRAME_RATE:
        env["NEXUS_WS_FRAME_RATE"] = str(int(per_client * 3) + 10)
        env["NEXUS_WS_FRAME_BURST"] = str(int(per_client * 6) + 40)
    if not env:
        text = (
            f"defaults ({settings.CHAT_RATE_LIMIT} messages per {settings.CHAT_RATE_WINDOW} s per person, "
            f"{settings.WS_FRAME_BURST} frames burst + {settings.WS_FRAME_RATE}/s per socket); "
            f"the fastest step sends {per_client:.2f} messages/s per client"
        )
    else:
        text = "RAISED for this run: " + ", ".join(f"{key}={value}" for key, value in env.items())
    return env, text


def _summarise_profile(raw: Path, top: int = 12) -> None:
    """Where the server's samples went: by thread, by the project's own functions, by leaf function."""
    threads: dict[str, int] = {}
    own: dict[str, int] = {}
    leaves: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        samples += count
        frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
        thread = "event loop (main thread)" if any("run_forever" in frame for frame in frames) else "worker threads"
        threads[thread] = threads.get(thread, 0) + count
        leaf = frames[-1]
        leaves[leaf] = leaves.get(leaf, 0) + count
        for frame in {frame for frame in frames if frame.split(" (", 1)[-1].startswith(PROJECT_PACKAGES)}:
            own[frame] = own.get(frame, 0) + count
    if not samples:
        print("  (no samples)")
        return

    def show(title: str, counts: dict[str, int], limit: int) -> None:
        print(f"  {title}:")
        for name, count in sorted(counts.items(), key=lambda item: -item[1])[:limit]:
            print(f"    {count / samples * 100:5.1f}%  {name[:110]}")

    print(f"  {samples:,} samples of busy threads (200 a second)")
    show("by thread", threads, 2)
    show("the project's functions, inclusive", own, top)
    show("leaf functions (self time)", leaves, top)


class Servers:
    """The server processes under test: one daphne as production runs it, or several sharing one socket."""

    def __init__(self, args, port: int, env: dict, log):
        self.port, self.processes, self.listener = port, [], None
        common = {"cwd": ROOT, "env": env, "stdout": log, "stderr": subprocess.STDOUT}
        if args.server == "uvicorn":
            command = ["-m", "uvicorn", "bench.chat_asgi:application", "--host", "127.0.0.1", "--port", str(port)]
            command += ["--log-level", "warning", "--no-access-log", "--lifespan", "off", "--ws", "websockets"]
            command += ["--workers", str(args.processes)] if args.processes > 1 else []
            self.processes.append(subprocess.Popen([sys.executable, *command], **common))  # noqa: S603
        elif args.processes == 1:
            command = ["-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0", "bench.chat_asgi:application"]
            self.processes.append(subprocess.Popen([sys.executable, *command], **common))  # noqa: S603
        else:
            # Daphne has no workers of its own: N processes accept on one inherited listening socket.
            # With the backlog daphne's own endpoints get (nexus.server, LISTEN_BACKLOG).
            from django.conf import settings

            self.listener = socket.create_server(("127.0.0.1", port), backlog=settings.LISTEN_BACKLOG)
            fd = self.listener.fileno()
            os.set_inheritable(fd, True)
            command = ["-m", "daphne", "--fd", str(fd), "-v", "0", "bench.chat_asgi:application"]
            for _ in range(args.processes):
                self.processes.append(
                    subprocess.Popen([sys.executable, *command], pass_fds=(fd,), **common)  # noqa: S603
                )

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def wait_until_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(process.poll() is not None for process in self.processes):
                raise RuntimeError("a server process exited at start")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if self.listener is None:
                    return
                time.sleep(3)  # the inherited socket accepts before every process has loaded Django
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start")

    def cpu_seconds(self) -> float:
        """CPU of the server processes and their children (uvicorn's workers)."""
        parents, cpu = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        roots, total = set(self.pids), 0.0
        for pid, seconds in cpu.items():
            ancestor = pid
            while ancestor > 1 and ancestor not in roots:
                ancestor = parents.get(ancestor, 0)
            if ancestor in roots:
                total += seconds
        return total

    def stop(self) -> None:
        for process in self.processes:
            _stop(process)
        if self.listener is not None:
            self.listener.close()


def _print_record(record: dict) -> None:
    event = record["event"]
    if event == "connected":
        print(f"  {record['sockets']} sockets open in {record['seconds']:.1f} s")
    elif event == "settled":
        print(
            f"  {record['frames']:,} presence frames reached the chat sockets; quiet {record['seconds']:.1f} s "
            "after the last connect"
        )
    elif event == "storm":
        failures = ", ".join(f"{count} x {name}" for name, count in sorted(record["failures"].items())) or "none"
        print(
            f"  storm, {record['label']}: {record['sockets']:,} sockets connected in {record['seconds']:.1f} s "
            f"(p50 {record['p50_s']:.1f} s, p99 {record['p99_s']:.1f} s); failed handshakes retried: {failures}"
        )
    elif event == "warmed_up":
        print(f"  warm-up: {record['sent']} messages, {record['delivered']} deliveries in {record['seconds']:.1f} s")
    elif event == "stopped":
        skipped = ", ".join(format(rate, "g") for rate in record["skipped"]) or "none"
        print(
            "  more than half the deliveries still missing after the drain: the ramp stops here "
            f"(skipped: {skipped} msg/s)"
        )
    elif event == "caught_up":
        if record["seconds"] > 1 or record["unanswered"]:
            print(
                f"  the server answered its backlog of sends {record['seconds']:.1f} s after the last step"
                + (f"; {record['unanswered']} never answered" if record["unanswered"] else "")
            )
    elif event == "socket_error":
        print(f"  socket error: {record['error']}")
    elif event == "echo":
        print(
            f"{'echo ' + record['label']:<16} {'':>7} {record['per_s']:8.0f} {record['p50_ms']:8.1f} "
            f"{record['p99_ms']:8.1f} {'':>8} {'':>8} {'':>7} {'':>6} " + _cpu_columns(record)
        )
    elif event == "step":
        print(
            f"{('after ' if record['step'] >= AFTER_STORM else 'chat ') + format(record['rate'], 'g') + ' msg/s':<16} "
            f"{record['sent_per_s']:7.0f} "
            f"{record['delivered_in_window_per_s']:8.0f} {record['p50_ms']:8.1f} {record['p99_ms']:8.1f} "
            f"{record['max_ms']:8.0f} {record['ack_p99_ms']:8.1f} {record['missing']:7d} {record['errors']:6d} "
            + _cpu_columns(record)
        )
        for sample in record["error_samples"]:
            print(f"    error: {sample}")
        if record["drain_s"] > 1.0:
            print(f"    (the step's last deliveries arrived {record['drain_s']:.1f} s after its end)")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument(
        "--rates", default="50,100,200,300,400,500,600,800,1000", help="messages/s of each step, rising"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one step")
    parser.add_argument("--echo-seconds", type=float, default=5.0)
    parser.add_argument("--echo-depth", type=int, default=1, help="echo frames in flight per socket")
    parser.add_argument("--drain-seconds", type=float, default=5.0, help="wait after a step for the late ones")
    parser.add_argument("--server", choices=["daphne", "uvicorn"], default="daphne")
    parser.add_argument(
        "--processes", type=int, default=1, help="server processes (production runs one daphne for /ws/)"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the (first) server process over the chat steps")
    parser.add_argument("--storm", action="store_true", help="measure connect and reconnect storms (see above)")
    parser.add_argument(
        "--echo-path",
        default="/ws/echo/",
        choices=["/ws/echo/", "/ws/echo-channels/"],
        help="the bare echo, or the echo with Channels' stock dispatch (see bench/chat_asgi.py)",
    )
    parser.add_argument(
        "--what-if",
        default="",
        help="experiments on the server, not the shipped app: 'dispatch' (see bench/chat_asgi.py)",
    )
    args = parser.parse_args()
    args.rate_list = [float(rate) for rate in args.rates.split(",")]
    if args.clients < 1 or args.group_size < 1 or args.processes < 1 or min(args.rate_list) <= 0:
        parser.error("--clients, --group-size, --processes and every rate must be positive")
    try:
        import websockets  # noqa: F401 -- the load generator's client
    except ImportError:
        parser.error("the load generator needs websockets: .venv/bin/pip install -r requirements-dev.txt")
    if args.server == "uvicorn":
        try:
            import uvicorn  # noqa: F401
        except ImportError:
            parser.error("uvicorn is not installed (the project serves /ws/ with daphne)")
    return args


def main() -> None:
    args = _arguments()
    rates = args.rate_list
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    os.environ.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="bench.settings",
        NEXUS_CHANNEL_PREFIX="nexus-bench-chat",
        NEXUS_CACHE_PREFIX="nexus-bench-chat",
        DJANGO_DEBUG="0",
        NEXUS_BENCH_WHAT_IF=args.what_if,
    )
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
    ensure_database(database_url)

    import django

    django.setup()
    from django.core.management import call_command

    from chat.models import Message

    call_command("migrate", verbosity=0)
    print(f"Preparing {args.clients} users in conversations of {args.group_size} …")
    clients, members, conversation_ids = _populate(args.clients, args.group_size)
    limit_env, limit_text = _limits(args.clients, max(rates))

    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-chat-"))
    server_log = (workdir / "server.log").open("w")
    env = {**os.environ, **limit_env, "PYTHONWARNINGS": "ignore:No directory at"}
    servers = Servers(args, port, env, server_log)
    profiler = None
    results: dict = {"steps": [], "echo": []}
    try:
        servers.wait_until_up()
        plan = {
            "port": port,
            "clients": clients,
            "members": members,
            "rates": rates,
            "seconds": args.seconds,
            "echo_seconds": args.echo_seconds,
            "drain_seconds": args.drain_seconds,
            "seed": 7,
            "echo_path": args.echo_path,
            "echo_depth": args.echo_depth,
            "storm": args.storm,
        }
        (workdir / "plan.json").write_text(json.dumps(plan))
        if args.what_if:
            print(f"WHAT-IF EXPERIMENT, NOT THE APP AS SHIPPED: {args.what_if} (bench/chat_asgi.py)")
        print(
            f"Server: {args.processes} {args.server} process(es) serving bench.chat_asgi:application "
            f"(pid {', '.join(map(str, servers.pids))}), PostgreSQL, RedisPubSubChannelLayer"
        )
        print(f"Limits: {limit_text}")
        print(
            f"Client: bench/wsload.py (one asyncio process), {args.clients} chat + {args.clients} echo "
            f"({args.echo_path}) sockets, {len(conversation_ids)} conversations; {args.seconds:g} s steps, open loop"
        )
        print("CPU columns: share of one core used by the server, the load generator, and everything else")
        print("(PostgreSQL, Redis, other processes on the machine) over each phase.")
        loadgen = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [sys.executable, str(ROOT / "bench" / "wsload.py"), str(workdir / "plan.json")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        marks = {}
        print(
            f"\n{'phase':<16} {'sent/s':>7} {'deliv/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'ack p99':>8} {'missing':>7} {'errors':>6} {'server':>7} {'client':>7} {'others':>7}"
        )
        for line in loadgen.stdout:
            record = json.loads(line)
            event = record["event"]
            now, cpu, busy = time.monotonic(), servers.cpu_seconds(), _machine_busy_seconds()
            if event in ("step_start", "echo_start"):
                marks[event] = (now, cpu, busy)
                if event == "step_start" and args.profile and profiler is None:
                    profiler = subprocess.Popen(  # noqa: S603 -- py-spy, when installed
                        [_py_spy(), "record", "-p", str(servers.pids[0]), "-o", str(args.profile), *PY_SPY_OPTIONS],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                continue
            if event == "storm":
                results.setdefault("storms", {})[record["label"]] = record
            if event in ("echo", "step"):
                began, cpu_began, busy_began = marks["echo_start" if event == "echo" else "step_start"]
                record["server_cpu"] = (cpu - cpu_began) / (now - began)
                record["other_cpu"] = (busy - busy_began) / (now - began) - record["server_cpu"] - record["client_cpu"]
                results[event if event == "echo" else "steps"].append(record)
            if event in ("done", "stopped"):
                results[event] = record
            _print_record(record)
            if event == "caught_up" and profiler is not None and profiler.poll() is None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        loadgen.wait(timeout=60)
        if loadgen.returncode:
            sys.exit(f"The load generator failed (exit {loadgen.returncode}).")
    finally:
        if profiler is not None:
            if profiler.poll() is None:
                profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        servers.stop()
        server_log.close()
        _report_server_log(workdir / "server.log")
        shutil.rmtree(workdir, ignore_errors=True)

    done = results["done"]
    stored = Message.objects.filter(conversation_id__in=conversation_ids).count()
    print(
        f"\nPersistence: {done['sent']:,} sent, {done['acked']:,} acknowledged, {stored:,} Message rows "
        f"({'equal' if stored == done['acked'] else 'MISMATCH'})"
    )
    print(
        f"Deliveries: {done['delivered']:,} of {done['expected']:,} expected arrived by the end of the run "
        f"({done['expected'] - done['delivered']:,} never did)"
    )
    if done["stray"]:
        print(f"  {done['stray']} frames could not be matched to a message sent by this run")
    if args.profile and profiler is not None:
        print(f"\nServer profile (py-spy, chat steps and the catch-up after them): {args.profile}")
        _summarise_profile(args.profile)
    if args.storm:
        _storm_verdicts(args, results, stored)
    else:
        _verdicts(args, results, stored)


def _storm_verdicts(args, results: dict, stored: int) -> None:
    done, storms = results["done"], results["storms"]
    echo, reconnect = storms["echo (baseline)"], storms["reconnect"]
    print(
        f"\nStorms: {args.clients:,} chat sockets connected in {storms['connect']['seconds']:.1f} s and reconnected "
        f"in {reconnect['seconds']:.1f} s; the same number of bare echo sockets (baseline) in {echo['seconds']:.1f} s."
    )

    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    print(
        f"Goal {GOAL_STORM_CLIENTS:,} connected clients: {args.clients:,} "
        f"({verdict(args.clients >= GOAL_STORM_CLIENTS)})."
    )
    print(
        f"Goal all reconnected within {GOAL_STORM_SECONDS:g} s: {reconnect['seconds']:.1f} s "
        f"({verdict(reconnect['seconds'] <= GOAL_STORM_SECONDS and reconnect['sockets'] == args.clients)})."
    )
    after = [step for step in results["steps"] if step["step"] >= AFTER_STORM and step["rate"] >= GOAL_RATE]
    if not after:
        print(f"Goal {GOAL_RATE} msg/s with p99 < {GOAL_P99_MS:g} ms after the storm: not measured.")
    else:
        step = min(after, key=lambda step: step["rate"])
        ok = step["p99_ms"] < GOAL_P99_MS and step["missing"] == 0 and step["errors"] == 0
        ok = ok and step["sent_per_s"] >= 0.95 * GOAL_RATE
        print(
            f"Goal {GOAL_RATE} msg/s with p99 < {GOAL_P99_MS:g} ms after the storm: {step['sent_per_s']:.0f} msg/s, "
            f"p99 {step['p99_ms']:.0f} ms, {step['missing']} missing, {step['errors']} errors ({verdict(ok)})."
        )
    if stored != done["acked"] or any(step["errors"] for step in results["steps"]):
        sys.exit("Some sends failed or were not stored; see above.")


def _verdicts(args, results: dict, stored: int) -> None:
    done, steps = results["done"], results["steps"]
    if any(record["other_cpu"] > BUSY_MACHINE for record in steps + results["echo"]):
        print(
            "\nWARNING: other work took more than PostgreSQL and Redis would during the phases marked "
            "'busy machine'; their figures are low. Run again on a quiet machine."
        )
    echo = max(result["per_s"] for result in results["echo"])
    peak = max(steps, key=lambda step: step["delivered_in_window_per_s"])
    share = peak["delivered_in_window_per_s"] / echo * 100 if echo else 0.0
    at_goal = [step for step in steps if step["rate"] >= GOAL_RATE]
    goal_step = min(at_goal, key=lambda step: step["rate"]) if at_goal else None
    print(
        f"\nEcho: {echo:,.0f} frames/s (the better of {len(results['echo'])} rounds). Chat peak: "
        f"{peak['delivered_in_window_per_s']:,.0f} deliveries/s at {peak['rate']:g} msg/s sent, "
        f"{share:.1f}% of the echo."
    )

    def verdict(ok: bool) -> str:
        return "meets" if ok else "MISSES"

    print(f"Goal {GOAL_CLIENTS} connected clients: {args.clients} connected ({verdict(args.clients >= GOAL_CLIENTS)}).")
    if goal_step is None and results.get("stopped"):
        print(
            f"Goal {GOAL_RATE} msg/s with p99 < {GOAL_P99_MS:g} ms: MISSES (the server saturated at "
            f"{results['stopped']['rate']:g} msg/s and the ramp stopped before {GOAL_RATE})."
        )
    elif goal_step is None:
        print(f"Goal {GOAL_RATE} msg/s with p99 < {GOAL_P99_MS:g} ms: not measured (no step at {GOAL_RATE} msg/s).")
    else:
        ok = (
            goal_step["p99_ms"] < GOAL_P99_MS
            and goal_step["missing"] == 0
            and goal_step["errors"] == 0
            and goal_step["sent_per_s"] >= 0.95 * GOAL_RATE
            and args.clients >= GOAL_CLIENTS
        )
        print(
            f"Goal {GOAL_RATE} msg/s ({GOAL_RATE * args.group_size:,} deliveries/s) with p99 < {GOAL_P99_MS:g} ms: "
            f"{goal_step['sent_per_s']:.0f} msg/s sent, {goal_step['delivered_in_window_per_s']:,.0f} deliveries/s, "
            f"p99 {goal_step['p99_ms']:.0f} ms, {goal_step['missing']} missing, {goal_step['errors']} errors "
            f"({verdict(ok)})."
        )
    print(f"Goal deliveries/s >= {GOAL_SHARE:g}% of the echo: {share:.1f}% ({verdict(share >= GOAL_SHARE)}).")
    if stored != done["acked"] or any(step["errors"] for step in steps):
        sys.exit("Some sends failed or were not stored; see above.")


if __name__ == "__main__":
    main()
