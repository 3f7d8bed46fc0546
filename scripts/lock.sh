#!/usr/bin/env bash
# `make lock`: pin the whole dependency tree, with hashes, from requirements*.txt.
#
#   requirements.lock      everything requirements.txt needs, transitively, each file's sha256
#   requirements-dev.lock  the same for requirements-dev.txt, constrained to requirements.lock, so
#                          the runtime packages are the same versions in both
#
# pip-compile (pip-tools) runs in a venv of its own (.venv-lock), so it never enters the runtime or
# the test dependencies. It keeps every pin already in a lock that still fits (no upgrade unless
# asked), so running it again changes nothing, and adding one package adds only what that needs.
# Upgrade on purpose with: scripts/lock.sh --upgrade  (or --upgrade-package NAME).
# It needs only the package registry (pip's own index configuration), no other network access.
set -euo pipefail
cd "$(dirname "$0")/.."

PIP_TOOLS_VERSION=7.6.2
PYTHON="${PYTHON:-python3}"
TOOLS=.venv-lock

if [ ! -x "$TOOLS/bin/pip-compile" ] || ! "$TOOLS/bin/pip-compile" --version | grep -q "$PIP_TOOLS_VERSION"; then
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/pip" install --quiet "pip-tools==$PIP_TOOLS_VERSION"
fi

compile() {
    # Relative paths and no index or find-links lines: the output is the same on every machine.
    "$TOOLS/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-trusted-host --no-emit-find-links --newline lf \
        "$@"
}

compile "${@}" --output-file requirements.lock requirements.txt
compile "${@}" --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt
"$PYTHON" scripts/check_lock.py
