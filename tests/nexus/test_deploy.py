"""The deployment artefacts stay valid: Django's deploy checks and the compose file."""

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args, **env):
    return subprocess.run(  # noqa: S603 -- fixed argument lists
        args, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


def test_it_passes_the_deploy_checks_in_production_mode():
    result = _run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="nexus.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_it_refuses_a_malformed_boolean():
    result = _run([sys.executable, "manage.py", "check"], DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_it_ships_a_valid_compose_file():
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is not installed; .ci/run installs Debian's package.")
        pytest.skip("docker-compose is not installed (Debian package docker-compose).")
    result = _run(["docker-compose", "config", "-q"])
    assert result.returncode == 0, result.stderr
    services = _run(["docker-compose", "config", "--services"]).stdout.split()
    assert {"db", "redis", "web", "ws", "worker", "beat"} <= set(services)
