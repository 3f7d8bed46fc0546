"""`manage.py serve`: the hub in one command, pages under WSGI and the socket under ASGI.

Django under ASGI pays a thread hop per sync middleware; measured on the demo data
(bench/pages.py) gunicorn answers pages about twice as fast as daphne. So, as in
the compose stack and in Zulip, pages go to gunicorn and only the socket to daphne.

Routing: gunicorn listens on the public port and daphne on the next one; every
page tells its JavaScript the socket's port (`data-socket-port` on <body>) and the
browser connects there itself. No proxy sits in the path of pages or frames, so
there is nothing extra to fail or to slow them: the session cookie reaches both
ports (cookies belong to a host, not a port) and the socket checks the Origin's
host against ALLOWED_HOSTS, which ignores the port. The price is a second port
for a firewall to let through, said in the log and the README; a site that wants
one port puts nginx in front, as deploy/nginx.conf does.

Events cross from gunicorn's workers to daphne only through Redis. Without
REDIS_URL (the embedded default of `make run`) the in-memory channel layer lives
in one process, so one daphne serves pages and socket, as it always did.

The command supervises its children: it forwards SIGINT, SIGTERM and SIGHUP,
and when one child dies it stops the others and exits with that child's code,
so a service manager (systemd, a container runtime) sees the failure and restarts it.
"""

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

LOOPBACK_HOSTS = ["localhost", "127.0.0.1", "[::1]"]
# How long children get to finish their requests after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 10.0


def _interface_addresses() -> list[str]:
    """The IPv4 and IPv6 addresses of this machine's interfaces (Linux), without asking any DNS server."""
    addresses: list[str] = []
    try:
        import fcntl
        import struct

        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _index, name in socket.if_nameindex():
                request = struct.pack("256s", name.encode()[:15])
                try:
                    answer = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
                except OSError:
                    continue  # An interface without an IPv4 address.
                addresses.append(socket.inet_ntoa(answer[20:24]))
        finally:
            probe.close()
    except (ImportError, OSError, AttributeError):
        pass
    inet6 = Path("/proc/net/if_inet6")
    if inet6.exists():
        for line in inet6.read_text().splitlines():
            raw = line.split()[0]
            address = ipaddress.IPv6Address(int(raw, 16))
            if not address.is_link_local:  # fe80:: needs a zone id in a URL; nobody types those.
                addresses.append(str(address))
    return addresses


def local_host_names() -> list[str]:
    """The names and addresses people on the plant network may use to reach this machine."""
    names: list[str] = list(LOOPBACK_HOSTS)
    hostname = socket.gethostname()
    candidates = [hostname, *_interface_addresses()]
    with contextlib.suppress(OSError):  # A host name the resolver does not know: the interfaces still count.
        candidates += [info[4][0] for info in socket.getaddrinfo(hostname, None)]
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            name = candidate.lower()
        else:
            name = f"[{address.compressed}]" if address.version == 6 else address.compressed
        if name and name not in names:
            names.append(name)
    return names


def allowed_hosts_for_serving(environ: dict[str, str]) -> str:
    """DJANGO_ALLOWED_HOSTS for the children: the operator's own list, else this machine's names."""
    given = (environ.get("DJANGO_ALLOWED_HOSTS") or "").strip()
    return given or ",".join(local_host_names())


@dataclass
class Child:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None


def plan_children(
    *,
    host: str,
    port: int,
    socket_port: int,
    workers: int,
    threads: int,
    split: bool,
    celery: bool,
    socket_hint: str | None = None,
) -> list[Child]:
    """The processes to run: gunicorn and daphne when split, else one daphne; celery worker and beat if asked.

    `socket_hint` is the port the pages send their socket to (NEXUS_SOCKET_PORT), daphne's by default; "0"
    makes them use their own host and port, for a proxy in front that routes /ws/ itself.
    """
    python = sys.executable
    daphne = (
        [python, "-m", "daphne", "--proxy-headers"] if settings.SECURE_PROXY_SSL_HEADER else [python, "-m", "daphne"]
    )
    children: list[Child] = []
    if split:
        children.append(
            Child(
                "gunicorn",
                [
                    python,
                    "-m",
                    "gunicorn",
                    "nexus.wsgi:application",
                    "--bind",
                    _bind(host, port),
                    "--workers",
                    str(workers),
                    "--threads",
                    str(threads),
                    "--access-logfile",
                    "-",
                    # gunicorn 27's control socket sits at one path per user, so a second hub on the machine
                    # (or a test's) would take it over; nothing here uses it.
                    "--no-control-socket",
                ],
                {"NEXUS_SOCKET_PORT": socket_hint or str(socket_port)},
            )
        )
        children.append(Child("daphne", [*daphne, "-b", host, "-p", str(socket_port), "nexus.asgi:application"]))
    else:
        children.append(Child("daphne", [*daphne, "-b", host, "-p", str(port), "nexus.asgi:application"]))
    if celery:
        children.append(Child("celery-worker", [python, "-m", "celery", "-A", "nexus", "worker", "--loglevel", "INFO"]))
        children.append(Child("celery-beat", [python, "-m", "celery", "-A", "nexus", "beat", "--loglevel", "INFO"]))
    return children


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class Supervisor:
    """Runs children in their own process groups, forwards signals, and stops all when one ends."""

    def __init__(self, children: list[Child], log) -> None:
        self.children = children
        self.log = log
        self.stopping = False

    def start(self, base_env: dict[str, str]) -> None:
        for child in self.children:
            # A group of its own, so a Ctrl-C in the terminal reaches the children once, through us.
            child.process = subprocess.Popen(child.args, env={**base_env, **child.env}, start_new_session=True)  # noqa: S603
            self.log(f"started {child.name} (pid {child.process.pid}): {' '.join(child.args[1:])}")

    def forward(self, signum: int, _frame=None) -> None:
        if signum in (signal.SIGINT, signal.SIGTERM):
            self.stopping = True
        for child in self.children:
            if not child.process or child.process.poll() is not None:
                continue
            if signum == signal.SIGHUP:
                # SIGHUP makes gunicorn reload its workers (new code, same sockets); it would stop the others.
                if child.name == "gunicorn":
                    child.process.send_signal(signal.SIGHUP)
            else:
                child.process.terminate()

    def wait(self) -> int:
        """Block until a child ends (or a stop was asked), stop the rest, and return the exit code."""
        code = 0
        while True:
            ended = [child for child in self.children if child.process and child.process.poll() is not None]
            if ended:
                first = ended[0]
                code = first.process.returncode
                if not self.stopping:
                    self.log(f"{first.name} exited with code {code}: stopping the others")
                    code = code or 1  # A child that ends by itself is a failure even if it says 0.
                break
            time.sleep(0.2)
        self.stop()
        return 0 if self.stopping else code

    def stop(self) -> None:
        for child in self.children:
            if child.process and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in self.children:
            if not child.process:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s: killing it")
                child.process.kill()
                child.process.wait()


class Command(BaseCommand):
    help = (
        "Serve the hub: pages under gunicorn (WSGI) and the socket under daphne (ASGI) on the next port, "
        "or one daphne for everything without REDIS_URL. Supervises both and exits if one dies."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (0.0.0.0: every interface).")
        parser.add_argument("--port", type=int, default=8000, help="The public port: pages (and, alone, the socket).")
        parser.add_argument("--socket-port", type=int, help="The socket's port when split. Default: --port + 1.")
        parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes. Default 2.")
        parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker. Default 4.")
        parser.add_argument("--single", action="store_true", help="One daphne for pages and socket, even with Redis.")
        parser.add_argument("--celery", action="store_true", help="Also run a celery worker and beat (needs Redis).")

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        socket_port = options["socket_port"] or port + 1
        if not (0 < port < 65536 and 0 < socket_port < 65536) or socket_port == port:
            raise CommandError("--port and --socket-port must be two different ports between 1 and 65535.")
        if options["workers"] < 1 or options["threads"] < 1:
            raise CommandError("--workers and --threads must be at least 1.")
        if options["celery"] and settings.EMBEDDED:
            raise CommandError("--celery needs REDIS_URL: without it tasks already run inside the web process.")
        split = not settings.EMBEDDED and not options["single"]
        env = dict(os.environ)
        env["DJANGO_ALLOWED_HOSTS"] = allowed_hosts_for_serving(env)
        # The children must use the secret this process read or generated, whatever their working directory.
        env.setdefault("NEXUS_DATA_DIR", str(settings.DATA_DIR))

        if split:
            self._log(
                f"pages under WSGI (gunicorn, {options['workers']} workers x {options['threads']} threads) on port "
                f"{port}; the socket under ASGI (daphne) on port {socket_port}, joined through Redis. "
                f"A firewall must let both ports through."
            )
        elif settings.EMBEDDED:
            self._log(
                "no REDIS_URL: the in-memory channel layer cannot carry events from gunicorn's workers to a "
                f"separate socket server, so one daphne serves pages and the socket on port {port}."
            )
        else:
            self._log(f"--single: one daphne serves pages and the socket on port {port}.")
        if not settings.EMBEDDED and not options["celery"]:
            self._log("with REDIS_URL, background jobs need `celery -A nexus worker` and `beat` (or serve --celery).")
        hosts = [name for name in env["DJANGO_ALLOWED_HOSTS"].split(",") if name and "*" not in name]
        if host in ("0.0.0.0", "::"):  # noqa: S104 -- naming, not binding
            shown = [name for name in hosts if name not in LOOPBACK_HOSTS] or hosts
        else:
            shown = [f"[{host}]" if ":" in host else host]
        self._log("open " + "  ".join(f"http://{name}:{port}/" for name in shown))
        self._log(f"answering to the host names {env['DJANGO_ALLOWED_HOSTS']} (set DJANGO_ALLOWED_HOSTS to change)")

        supervisor = Supervisor(
            plan_children(
                host=host,
                port=port,
                socket_port=socket_port,
                workers=options["workers"],
                threads=options["threads"],
                split=split,
                celery=options["celery"],
                socket_hint=os.environ.get("NEXUS_SOCKET_PORT", "").strip() or None,
            ),
            self._log,
        )
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, supervisor.forward)
        supervisor.start(env)
        code = supervisor.wait()
        if code:
            raise CommandError(f"a server process failed (exit code {code})", returncode=code)

    def _log(self, text: str) -> None:
        self.stdout.write(f"[serve] {text}")
        self.stdout.flush()
