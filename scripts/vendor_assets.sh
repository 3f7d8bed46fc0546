#!/usr/bin/env bash
# Re-fetch the vendored front-end assets from the npm registry at their pinned versions.
# (The socket is static/js/nexus.js's own: htmx's ws extension reconnects only after some close codes.)
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX=2.0.11
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX" >/dev/null)
mkdir -p static/vendor/htmx
tar -xzf "$work/htmx.org-$HTMX.tgz" -C "$work" package/dist/htmx.min.js package/LICENSE
cp "$work/package/dist/htmx.min.js" "$work/package/LICENSE" static/vendor/htmx/
echo "htmx $HTMX vendored into static/vendor/"
