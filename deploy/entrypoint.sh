#!/bin/sh
# Container entrypoint: apply migrations (once, from the web container), then run the command.
set -e
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi
exec "$@"
