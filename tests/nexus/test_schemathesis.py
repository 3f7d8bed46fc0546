"""Schemathesis over the whole API (issue 13): no 5xx, every answer within its documented schema.

Every operation of /api/v1/ gets schema-valid and schema-breaking requests, in
process through the WSGI app, as a manager with an API token (so most
operations get past authentication and roles). Every check schemathesis has
runs; a bounded number of examples and a fixed seed keep the run short and the
same every time. It runs on SQLite and, in CI, on PostgreSQL, where bad text and
times used to fail.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from accounts import services as account_services
from nexus.api import api

# Examples per operation and phase: 79 operations stay near two minutes on two cores (PostgreSQL is slower).
MAX_EXAMPLES = 8

config = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True},
        "checks": {
            # A request that fits the schema may still be refused for what only the server knows:
            # unknown ids in a body, an end before its start, a name already taken (400 with a reason).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"],
            },
        },
        "operations": [
            {
                # A file part sent without a Content-Type of its own reaches Django as no file at all (422);
                # the schema cannot say that a part needs one. Every other check still runs here.
                "include-path": "/api/v1/chat/conversations/{conversation_id}/files",
                "checks": {"positive_data_acceptance": {"enabled": False}},
            }
        ],
    }
)
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_prefix="/api/v1/"), config=config)
schema.app = get_wsgi_application()


@pytest.fixture
def token_headers(maria):
    _, raw = account_services.create_api_token(user=maria, name="schemathesis")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Requests go through the real WSGI handler, which closes the connection when a request ends
    (and with it the test's transaction); Django's test client stops that the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_it_answers_every_request_within_its_schema(case, token_headers):
    case.call_and_validate(headers=token_headers)
