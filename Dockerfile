FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_STATIC_MANIFEST=1 \
    NEXUS_DATA_DIR=/app/data

WORKDIR /app
# Exactly the tested tree: every package at its locked version, each file's hash checked (make lock).
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY . .
# collectstatic needs settings but no real secret; the image never runs with this one.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --system --home /app nexus && mkdir -p /app/media /app/data && chown nexus /app/media /app/data

USER nexus
EXPOSE 8000 8001
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
CMD ["gunicorn", "nexus.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "2", "--limit-request-line", "8190"]
