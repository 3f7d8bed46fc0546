"""Fail when requirements*.txt and the lock files disagree, so nobody forgets `make lock`.

Each pin `name==version` of requirements.txt must be in requirements.lock at that
version, and each pin of requirements-dev.txt (with the files it includes) in
requirements-dev.lock; a package the lock names as coming from a requirements file
(pip-compile's "# via -r requirements.txt") must still be in that file. Every
line of a requirements file must be an exact pin: a range would let two
machines install different versions. Only the standard library, so it runs
before anything is installed.

    python scripts/check_lock.py          # exit 1 with the differences
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAIRS = {"requirements.txt": "requirements.lock", "requirements-dev.txt": "requirements-dev.lock"}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#\\]+)")


def normalize(name: str) -> str:
    """The PEP 503 form of a project name: Django, django and DJANGO are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(path: Path, problems: list[str]) -> dict[str, tuple[str, str]]:
    """{normalized name: (version, file)} of `path` and the files it includes with -r."""
    pins: dict[str, tuple[str, str]] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("-r ", "--requirement ")):
            pins.update(requirement_pins(path.parent / line.split(maxsplit=1)[1], problems))
            continue
        match = PIN.match(line)
        if not match:
            problems.append(f"{path.name}:{number}: {line!r} is not an exact pin (name==version)")
            continue
        pins[normalize(match.group(1))] = (match.group(3), path.name)
    return pins


def lock_entries(path: Path) -> dict[str, tuple[str, set[str]]]:
    """{normalized name: (version, the requirements files it comes from directly)} of a pip-compile lock."""
    entries: dict[str, tuple[str, set[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        match = PIN.match(raw)
        if match:
            current = normalize(match.group(1))
            entries[current] = (match.group(3), set())
            continue
        via = re.search(r"(?:#\s+via\s+|#\s+)-r\s+(\S+)", raw)
        if via and current:
            entries[current][1].add(Path(via.group(1)).name)
        elif raw and not raw.startswith((" ", "#")):
            current = None
    return entries


def check(root: Path = ROOT) -> list[str]:
    problems: list[str] = []
    for requirements_name, lock_name in PAIRS.items():
        requirements, lock = root / requirements_name, root / lock_name
        if not lock.exists():
            problems.append(f"{lock_name} is missing: run `make lock`")
            continue
        pins = requirement_pins(requirements, problems)
        entries = lock_entries(lock)
        for name, (version, source) in sorted(pins.items()):
            locked = entries.get(name)
            if locked is None:
                problems.append(f"{name}=={version} ({source}) is not in {lock_name}: run `make lock`")
            elif locked[0] != version:
                problems.append(f"{name}=={version} ({source}) but {lock_name} has {locked[0]}: run `make lock`")
        for name, (version, sources) in sorted(entries.items()):
            if sources and name not in pins:
                listed = ", ".join(sorted(sources))
                problems.append(f"{lock_name} has {name}=={version} from {listed}, no longer listed: run `make lock`")
        if "--hash=sha256:" not in lock.read_text():
            problems.append(f"{lock_name} has no hashes: run `make lock`")
    return problems


def main() -> int:
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return 1
    print("requirements*.txt and requirements*.lock agree.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
