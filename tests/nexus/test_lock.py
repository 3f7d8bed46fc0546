"""scripts/check_lock.py fails whenever requirements*.txt and the locks disagree."""

import importlib.util
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = ["requirements.txt", "requirements-dev.txt", "requirements.lock", "requirements-dev.lock"]


def _check_lock():
    spec = importlib.util.spec_from_file_location("check_lock", ROOT / "scripts" / "check_lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def copy(tmp_path) -> Path:
    for name in FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_it_passes_on_the_repositorys_own_files():
    assert _check_lock().check(ROOT) == []


def test_it_fails_when_a_pin_changed_without_relocking(copy):
    _edit(copy / "requirements.txt", "whitenoise==6.12.0", "whitenoise==6.11.0")
    problems = _check_lock().check(copy)
    assert any("whitenoise==6.11.0 (requirements.txt) but requirements.lock has 6.12.0" in p for p in problems)


def test_it_fails_when_a_package_was_added_without_relocking(copy):
    (copy / "requirements-dev.txt").write_text((copy / "requirements-dev.txt").read_text() + "left-pad==1.0.0\n")
    problems = _check_lock().check(copy)
    assert problems == ["left-pad==1.0.0 (requirements-dev.txt) is not in requirements-dev.lock: run `make lock`"]


def test_it_fails_when_a_package_was_removed_without_relocking(copy):
    _edit(copy / "requirements.txt", "email-validator==2.4.0\n", "")
    problems = _check_lock().check(copy)
    assert any(p.startswith("requirements.lock has email-validator==2.4.0") for p in problems)


def test_it_fails_on_a_requirement_that_is_not_an_exact_pin(copy):
    _edit(copy / "requirements.txt", "whitenoise==6.12.0", "whitenoise>=6")
    problems = _check_lock().check(copy)
    assert any("'whitenoise>=6' is not an exact pin" in p for p in problems)


def test_it_fails_on_a_lock_without_hashes(copy):
    lock = copy / "requirements.lock"
    lock.write_text("\n".join(line for line in lock.read_text().splitlines() if "--hash" not in line) + "\n")
    problems = _check_lock().check(copy)
    assert "requirements.lock has no hashes: run `make lock`" in problems
