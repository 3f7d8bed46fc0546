"""The API's OpenAPI schema (issue 13): one name per schema, and every error an operation can answer."""

import pytest
from ninja import Router, Schema
from ninja.errors import ConfigError

from nexus.api import NexusAPI, api


@pytest.fixture(scope="module")
def openapi():
    return api.get_openapi_schema(path_prefix="/api/v1/")


def test_it_names_each_enum_of_its_own(openapi):
    schemas = openapi["components"]["schemas"]
    assert schemas["Status"]["enum"] == ["planned", "in-progress", "completed", "cancelled", "overdue"]
    assert schemas["MachineStatus"]["enum"] == ["ok", "warning", "fault"]
    assert schemas["Priority"]["enum"] == ["low", "medium", "high", "urgent"]
    assert schemas["UpdatePriority"]["enum"] == ["low", "medium", "high", "critical"]
    assert "ActivityCommentKind" in schemas and "ConversationKind" in schemas


def test_it_documents_the_errors_every_operation_can_answer(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            documented = set(operation["responses"])
            assert {400, 422} <= documented, (method, path)
            if operation.get("security"):
                assert {401, 403} <= documented, (method, path)
            if "{" in path:
                assert 404 in documented, (method, path)
            if method in {"post", "put", "patch", "delete"}:
                assert 413 in documented, (method, path)


def test_it_refuses_two_different_schemas_of_one_name():
    def make(field_type):
        return type("Thing", (Schema,), {"__annotations__": {"value": field_type}})

    clashing = NexusAPI(urls_namespace="clash-test")
    first, second = Router(), Router()
    first.get("/a", response=make(int))(lambda request: {"value": 1})
    second.get("/b", response=make(str))(lambda request: {"value": "b"})
    clashing.add_router("/", first)
    clashing.add_router("/", second)
    with pytest.raises(ConfigError, match="Thing"):
        clashing.get_openapi_schema(path_prefix="/")


def test_it_serves_the_schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "MachineStatus" in response.json()["components"]["schemas"]
