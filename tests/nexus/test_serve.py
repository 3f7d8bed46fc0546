"""`manage.py serve`: which processes it runs, the host names it answers to, and its supervision."""

import signal
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from nexus.management.commands import serve


def test_it_answers_to_the_loopback_names_and_this_machines_own_names():
    names = serve.local_host_names()
    assert names[:3] == ["localhost", "127.0.0.1", "[::1]"]
    import socket

    assert socket.gethostname().lower() in names
    # IPv6 addresses are bracketed, as they appear in a Host header.
    assert all(name.startswith("[") for name in names if ":" in name)
    assert len(names) == len(set(names))


def test_it_leaves_the_operators_allowed_hosts_alone():
    assert serve.allowed_hosts_for_serving({"DJANGO_ALLOWED_HOSTS": "hub.plant.example"}) == "hub.plant.example"
    assert serve.allowed_hosts_for_serving({}).startswith("localhost,127.0.0.1,[::1]")


def _names(children):
    return [child.name for child in children]


def test_it_splits_pages_to_gunicorn_and_the_socket_to_daphne_when_asked():
    children = serve.plan_children(
        host="192.0.2.10", port=8000, socket_port=8001, workers=3, threads=4, split=True, celery=False
    )
    assert _names(children) == ["gunicorn", "daphne"]
    gunicorn, daphne = children
    assert gunicorn.args[1:4] == ["-m", "gunicorn", "nexus.wsgi:application"]
    assert "192.0.2.10:8000" in gunicorn.args
    assert gunicorn.args[gunicorn.args.index("--workers") + 1] == "3"
    # The pages tell their JavaScript where the socket is.
    assert gunicorn.env == {"NEXUS_SOCKET_PORT": "8001"}
    assert daphne.args[-5:] == ["-b", "192.0.2.10", "-p", "8001", "nexus.asgi:application"]


def test_it_lets_a_proxy_in_front_keep_the_socket_on_the_pages_origin():
    children = serve.plan_children(
        host="127.0.0.1", port=8000, socket_port=8001, workers=2, threads=4, split=True, celery=False, socket_hint="0"
    )
    assert children[0].env == {"NEXUS_SOCKET_PORT": "0"}


def test_it_serves_everything_with_one_daphne_when_not_split():
    children = serve.plan_children(
        host="127.0.0.1", port=8000, socket_port=8001, workers=2, threads=4, split=False, celery=False
    )
    assert _names(children) == ["daphne"]
    assert children[0].args[-5:] == ["-b", "127.0.0.1", "-p", "8000", "nexus.asgi:application"]
    assert children[0].env == {}


def test_it_adds_a_celery_worker_and_beat_when_asked():
    children = serve.plan_children(
        host="127.0.0.1", port=8000, socket_port=8001, workers=2, threads=4, split=True, celery=True
    )
    assert _names(children) == ["gunicorn", "daphne", "celery-worker", "celery-beat"]


@pytest.mark.parametrize(
    "arguments",
    [["--port", "0"], ["--port", "8000", "--socket-port", "8000"], ["--port", "70000"], ["--workers", "0"]],
)
def test_it_refuses_bad_ports_and_counts(arguments):
    with pytest.raises(CommandError):
        call_command("serve", *arguments)


def test_it_refuses_celery_on_the_embedded_default(settings):
    settings.EMBEDDED = True
    with pytest.raises(CommandError, match="--celery needs REDIS_URL"):
        call_command("serve", "--celery")


def _child(name, *code):
    return serve.Child(name, [sys.executable, "-c", *code])


def test_it_stops_the_others_and_fails_when_one_child_dies():
    log: list[str] = []
    sleeper = _child("sleeper", "import time; time.sleep(60)")
    quitter = _child("quitter", "import sys; sys.exit(3)")
    supervisor = serve.Supervisor([sleeper, quitter], log.append)
    supervisor.start({})
    started = time.monotonic()
    assert supervisor.wait() == 3
    assert time.monotonic() - started < 30
    assert sleeper.process.poll() is not None
    assert "quitter exited with code 3: stopping the others" in log


def test_it_treats_a_child_that_ends_cleanly_by_itself_as_a_failure():
    supervisor = serve.Supervisor([_child("sleeper", "import time; time.sleep(60)"), _child("done", "pass")], print)
    supervisor.start({})
    assert supervisor.wait() == 1


def test_it_forwards_a_stop_to_every_child_and_exits_cleanly():
    children = [_child("a", "import time; time.sleep(60)"), _child("b", "import time; time.sleep(60)")]
    supervisor = serve.Supervisor(children, print)
    supervisor.start({})
    time.sleep(0.3)
    supervisor.forward(signal.SIGTERM)
    assert supervisor.wait() == 0
    assert all(child.process.returncode == -signal.SIGTERM for child in children)


def test_it_sends_a_reload_only_to_gunicorn():
    trap = (
        "import signal, time; signal.signal(signal.SIGHUP, lambda *a: print('reload', flush=True)); "
        "print('ready', flush=True); time.sleep(60)"
    )
    gunicorn = serve.Child("gunicorn", [sys.executable, "-c", trap])
    daphne = _child("daphne", "import time; time.sleep(60)")
    supervisor = serve.Supervisor([gunicorn, daphne], print)
    gunicorn.process = subprocess.Popen(gunicorn.args, stdout=subprocess.PIPE, text=True)  # noqa: S603
    daphne.process = subprocess.Popen(daphne.args)  # noqa: S603
    assert gunicorn.process.stdout.readline().strip() == "ready"
    supervisor.forward(signal.SIGHUP)
    assert gunicorn.process.stdout.readline().strip() == "reload"
    assert daphne.process.poll() is None  # Daphne would have died of a SIGHUP.
    supervisor.forward(signal.SIGTERM)
    assert supervisor.wait() == 0


@pytest.mark.django_db
def test_pages_tell_their_script_the_sockets_port_only_when_it_has_one(client_for, carol, settings):
    client = client_for(carol)
    assert b"data-socket-port" not in client.get("/").content
    settings.NEXUS_SOCKET_PORT = 8001
    assert b'data-socket="/ws/" data-socket-port="8001"' in client.get("/").content
