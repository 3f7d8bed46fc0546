#!/usr/bin/env bash
# Re-fetch the vendored front-end assets from the npm registry at their pinned versions.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX=2.0.11
HTMX_WS=2.0.4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "htmx.org@$HTMX" "htmx-ext-ws@$HTMX_WS" >/dev/null)
mkdir -p static/vendor/htmx static/vendor/htmx-ext-ws
tar -xzf "$work/htmx.org-$HTMX.tgz" -C "$work" package/dist/htmx.min.js package/LICENSE
cp "$work/package/dist/htmx.min.js" "$work/package/LICENSE" static/vendor/htmx/
rm -rf "$work/package"
tar -xzf "$work/htmx-ext-ws-$HTMX_WS.tgz" -C "$work" package/dist/ws.min.js package/LICENSE
cp "$work/package/dist/ws.min.js" "$work/package/LICENSE" static/vendor/htmx-ext-ws/
echo "htmx $HTMX and htmx-ext-ws $HTMX_WS vendored into static/vendor/"
