"""`manage.py serve` end to end: gunicorn serves the pages, daphne the socket, Redis joins them.

The command runs as it does in production, a subprocess against this run's
PostgreSQL test database and Redis: a person logs in through the login form, the
page (from gunicorn) opens its socket on daphne's port, and a message sent by
someone else arrives live.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from playwright.sync_api import expect

from chat import services

# The password tests/browser/conftest.py gives Tom.
TOM_PASSWORD = "x-Pass-123456"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"manage.py serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=10):  # noqa: S310 -- a local test URL
                return
        except urllib.error.HTTPError:
            return  # It answers (health says 503 while no celery worker runs, which is beside the point here).
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


@pytest.fixture
def served(tmp_path):
    """`manage.py serve` split into gunicorn and daphne on two free ports; yields (page URL, socket port)."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("The split setup needs PostgreSQL and Redis (DATABASE_URL, REDIS_URL).")
    port, socket_port = _free_port(), _free_port()
    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "NEXUS_DATA_DIR": str(tmp_path),
        "DATABASE_POOL_SIZE": "4",
    }
    env.pop("DJANGO_DEBUG", None)
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 -- closed below, after the process
    command = ["manage.py", "serve", "--port", str(port), "--socket-port", str(socket_port), "--workers", "1"]
    process = subprocess.Popen(  # noqa: S603 -- a fixed argument list
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            _wait_until_up(f"http://127.0.0.1:{port}/accounts/login/", process)
            _wait_until_up(f"http://127.0.0.1:{socket_port}/accounts/login/", process)
        except RuntimeError as error:
            log.flush()
            raise RuntimeError(f"{error}\n{(tmp_path / 'serve.log').read_text()}") from None
        yield f"http://127.0.0.1:{port}", socket_port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    output = (tmp_path / "serve.log").read_text()
    assert "pages under WSGI (gunicorn" in output, output
    assert process.returncode == 0, output


def test_the_split_setup_serves_pages_under_gunicorn_and_delivers_a_message_live(
    served, page, console_errors, maria, tom
):
    base, socket_port = served
    direct = services.get_or_create_direct(user=maria, other=tom)
    # The tests hash with MD5 for speed (tests/conftest.py); the server runs the production hashers.
    encoded = PBKDF2PasswordHasher().encode(TOM_PASSWORD, PBKDF2PasswordHasher().salt())
    type(tom).objects.filter(pk=tom.pk).update(password=encoded)

    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=login]", "tom")
    page.fill("input[name=password]", TOM_PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_test_id("header-username")).to_have_text(tom.display_name)

    response = page.goto(f"{base}/chat/{direct.pk}/")
    assert response.headers["server"].startswith("gunicorn")
    expect(page.locator("body")).to_have_attribute("data-socket-port", str(socket_port))
    expect(page.locator(".conn-state")).to_have_attribute("data-state", "open")

    # Sent from this process: the event goes through Redis to the daphne that holds Tom's socket.
    services.send_message(sender=maria, conversation=direct, content="Press 4 needs oil")
    expect(page.get_by_test_id("message-list")).to_contain_text("Press 4 needs oil")

    # A wrong address gets the hub's own 404 from gunicorn, with debug off (Chromium logs the 404 itself).
    console_errors.allow(r"/no-such-page/ console: Failed to load resource: .* 404")
    response = page.goto(f"{base}/no-such-page/")
    assert response.status == 404
    expect(page.get_by_test_id("error-404")).to_be_visible()
