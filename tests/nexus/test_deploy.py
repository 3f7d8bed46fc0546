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
        NEXUS_HTTPS="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _settings_value(name: str, **env) -> str:
    result = _run([sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"], **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _without(*names: str) -> dict:
    return {key: value for key, value in os.environ.items() if key not in names}


def test_it_serves_with_debug_off_by_default():
    env = _without("DJANGO_DEBUG")
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; print(settings.DEBUG)"],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "nexus.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "False", result.stderr


def test_it_generates_a_secret_key_once_into_the_data_directory(tmp_path):
    env = {**_without("DJANGO_SECRET_KEY"), "DJANGO_SETTINGS_MODULE": "nexus.settings", "NEXUS_DATA_DIR": str(tmp_path)}
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = subprocess.run(  # noqa: S603 -- a fixed argument list
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert first.stdout.strip() == key_file.read_text().strip()
    assert len(first.stdout.strip()) >= 50
    second = subprocess.run(  # noqa: S603 -- a fixed argument list
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert second.stdout == first.stdout
    # The environment's key still wins, and then nothing is read or written.
    given = secrets.token_urlsafe(50)
    third = subprocess.run(  # noqa: S603 -- a fixed argument list
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SECRET_KEY": given, "NEXUS_DATA_DIR": str(tmp_path / "unused")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert third.stdout.strip() == given
    assert not (tmp_path / "unused").exists()


def test_it_refuses_to_start_when_no_secret_key_can_be_kept(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**_without("DJANGO_SECRET_KEY"), "NEXUS_DATA_DIR": str(blocker / "data")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY, or NEXUS_DATA_DIR" in result.stderr


def test_it_keeps_plain_http_working_on_a_lan_unless_told_https():
    lan = {"DJANGO_DEBUG": "0", "NEXUS_HTTPS": ""}
    assert _settings_value("SESSION_COOKIE_SECURE", **lan) == "False"
    assert _settings_value("SECURE_SSL_REDIRECT", **lan) == "False"
    assert _settings_value("SECURE_HSTS_SECONDS", **lan) == "0"
    https = {"DJANGO_DEBUG": "0", "NEXUS_HTTPS": "1"}
    assert _settings_value("SESSION_COOKIE_SECURE", **https) == "True"
    assert _settings_value("SECURE_SSL_REDIRECT", **https) == "True"
    assert _settings_value("ACCOUNT_DEFAULT_HTTP_PROTOCOL", **https) == "https"


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
