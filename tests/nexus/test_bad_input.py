"""Bad input is a 4xx with a reason, never a 500, whichever door it comes through (issue 13).

These matter most on PostgreSQL, which refuses null characters and times it
cannot store; CI runs them there. Each request here answered 500 before.
"""

import json
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from activities import services as activity_services
from activities.models import Activity, ActivityType, Tag
from chat import services as chat_services
from projects.models import Project

pytestmark = pytest.mark.django_db

API = "/api/v1"
NUL = "\x00"


@pytest.fixture
def token(maria):
    _, raw = account_services.create_api_token(user=maria, name="test")
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def api(token):
    client = Client()

    def call(method, path, data=None, *, raw=None, content_type="application/json"):
        body = raw if raw is not None else (json.dumps(data) if data is not None else "")
        return getattr(client, method)(f"{API}{path}", body, content_type=content_type, headers=token)

    return call


@pytest.fixture
def activity(maria):
    now = timezone.now()
    return activity_services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Replace spindle bearing",
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + timedelta(hours=2),
    )


@pytest.fixture
def tag(maria):
    return activity_services.create_tag(actor=maria, organization=maria.organization, name="Safety")


def _refused_nul(response, status=400):
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    assert "null characters" in response.json()["detail"]


# Null characters: the query string, on the API and on pages


@pytest.mark.parametrize(
    "path", ["/activities?q=a%00b", "/projects?q=a%00b", "/chat/search?q=a%00b", "/updates?cursor=%00", "/tags?x%00=1"]
)
def test_it_refuses_a_null_character_in_an_api_query(api, path):
    _refused_nul(api("get", path))


@pytest.mark.parametrize("path", ["/activities/?q=a%00b", "/chat/search/?q=a%00b", "/projects/?q=%00"])
def test_it_refuses_a_null_character_in_a_page_query_with_a_page(client_for, maria, path):
    response = client_for(maria).get(path)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert b"null characters" in response.content
    assert b'data-testid="error-400"' in response.content


# Null characters: JSON bodies, forms and multipart


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/tags", {"name": "a\x00b"}),
        ("post", "/projects", {"name": "Line 4", "description": "x\x00"}),
        ("post", "/chat/conversations", {"kind": "group", "name": "a\x00", "member_ids": []}),
        ("post", "/auth/token/", {"username": "maria\x00", "password": "x"}),
        ("post", "/tokens", {"name": "ci\x00"}),
    ],
)
def test_it_refuses_a_null_character_in_a_json_body(api, method, path, body):
    _refused_nul(api(method, path, body))
    assert not Tag.objects.exists()
    assert not Project.objects.exists()


def test_it_refuses_a_null_character_in_the_title_and_notes_of_an_activity(api, activity, carol):
    _refused_nul(api("patch", f"/activities/{activity.pk}", {"title": "a\x00"}))
    _refused_nul(api("post", f"/activities/{activity.pk}/assign", {"assigned_to": carol.pk, "note": "\x00"}))
    _refused_nul(api("post", f"/activities/{activity.pk}/priority", {"priority": "high", "reason": "\x00"}))
    activity.refresh_from_db()
    assert activity.title == "Replace spindle bearing"
    assert activity.assigned_to is None


def test_it_keeps_an_escaped_backslash_that_only_looks_like_a_null(api):
    response = api("post", "/tags", {"name": "C:\\u0000"})
    assert response.status_code == 201, response.content
    assert Tag.objects.get().name == "C:\\u0000"


def test_it_refuses_a_null_character_in_a_form_with_a_page(client_for, maria):
    response = client_for(maria).post("/activities/tags/", {"name": "a\x00", "color": "#3B82F6"})
    assert response.status_code == 400
    assert b"null characters" in response.content
    assert not Tag.objects.exists()


def test_it_refuses_a_null_character_in_a_multipart_field(client_for, maria):
    # The test client sends a dict with a file as multipart/form-data.
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = chat_services.create_group(actor=maria, name="Shift A", members=[])
    upload = SimpleUploadedFile("notes.txt", b"binary \x00 is fine in a file", content_type="text/plain")
    response = client_for(maria).post(
        f"{API}/chat/conversations/{conversation.pk}/files", {"file": upload, "content": "a\x00"}
    )
    _refused_nul(response)


# Null characters through doors that are not HTTP: every row is checked before it is saved


def test_it_refuses_a_null_character_from_any_service(maria, activity):
    with pytest.raises(ValidationError) as refused:
        activity_services.change_priority(actor=maria, activity=activity, priority="high", reason="a\x00")
    assert "null characters" in str(refused.value)
    with pytest.raises(ValidationError):
        chat_services.create_group(actor=maria, name="a\x00", members=[])
    activity.refresh_from_db()
    assert activity.priority == "medium"


# Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE


def test_it_answers_413_with_a_reason_to_a_body_too_large(api, settings, activity):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = api("patch", f"/activities/{activity.pk}", {"description": "x" * 4096})
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_it_answers_413_to_a_6_mb_json_body(api):
    response = api("post", "/tags", {"name": "big", "description": "x" * (6 * 1024 * 1024)})
    assert response.status_code == 413
    assert response.json()["detail"]


def test_it_answers_413_with_a_page_to_a_form_too_large(client_for, maria, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = client_for(maria).post("/activities/tags/", {"name": "big", "description": "x" * 4096})
    assert response.status_code == 413
    assert b'data-testid="error-413"' in response.content


def test_it_still_takes_files_larger_than_the_body_limit(client_for, maria, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    conversation = chat_services.create_group(actor=maria, name="Shift A", members=[])
    upload = SimpleUploadedFile("log.txt", b"line\n" * 10_000, content_type="text/plain")
    response = client_for(maria).post(
        f"{API}/chat/conversations/{conversation.pk}/files", {"file": upload, "content": "the log"}
    )
    assert response.status_code == 201, response.content


# Malformed multipart, and bodies that are not objects


def test_it_answers_a_malformed_multipart_body_with_json(api):
    response = api("post", "/chat/conversations/1/files", raw=b"--x\r\nnonsense", content_type="multipart/form-data")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert "multipart" in response.json()["detail"]


@pytest.mark.parametrize("body", ['"a string"', "null", "[]", "42", "true"])
def test_it_refuses_a_body_that_is_not_an_object(api, tag, body, maria):
    today = timezone.localdate()
    project = Project.objects.create(
        organization=maria.organization, name="Line 4", manager=maria, start_date=today, end_date=today
    )
    for path in (f"/tags/{tag.pk}", f"/projects/{project.pk}"):
        response = api("patch", path, raw=body)
        assert response.status_code == 422, (path, response.content)
        assert response.json()["detail"] == "Invalid input."
        assert response.json()["errors"][0]["loc"] == ["body"]


# Date-times the database cannot store


def _activity_body(**times):
    return {"title": "Night shift check", "type": ActivityType.INSPECTION, **times}


def test_it_stores_a_time_with_an_offset_postgresql_cannot_keep_in_utc(api):
    body = _activity_body(start_time="2026-12-03T10:00:00-23:59", end_time="2026-12-04T10:00:00-23:59")
    response = api("post", "/activities", body)
    assert response.status_code == 201, response.content
    activity = Activity.objects.get()
    assert activity.start_time.isoformat() == "2026-12-04T09:59:00+00:00"


@pytest.mark.parametrize(
    "start", ["9999-12-31T23:00:00-05:00", "0001-01-01T00:30:00+05:00", "9999-12-31T23:30:00", "0001-01-01T00:10:00"]
)
def test_it_refuses_a_time_beyond_the_years_the_database_stores(api, start):
    response = api("post", "/activities", _activity_body(start_time=start, end_time=start))
    assert response.status_code == 422, response.content
    assert "between the years 1 and 9999" in json.dumps(response.json())
    assert not Activity.objects.exists()


def test_it_refuses_a_patch_to_a_time_beyond_the_years_the_database_stores(api, activity):
    response = api("patch", f"/activities/{activity.pk}", {"end_time": "9999-12-31T23:59:59-23:59"})
    assert response.status_code == 422


def test_it_refuses_a_day_filter_at_the_end_of_the_calendar(api, client_for, maria):
    response = api("get", "/activities?due_to=9999-12-31")
    assert response.status_code == 400
    assert "due_to" in response.json()["errors"]
    assert client_for(maria).get("/activities/?due_from=0001-01-01").status_code < 500


def test_it_refuses_a_time_beyond_the_calendar_in_a_form(client_for, maria):
    response = client_for(maria).post(
        "/activities/new/",
        {
            "title": "Night shift check",
            "type": ActivityType.INSPECTION,
            "status": "planned",
            "priority": "medium",
            "start_time": "0001-01-01T00:10",  # Berlin: the year 0 in UTC.
            "end_time": "2026-12-03T10:00",
        },
    )
    assert response.status_code in (200, 400)
    assert b"between the years 1 and 9999" in response.content
    assert not Activity.objects.exists()


def test_it_refuses_a_time_beyond_the_calendar_from_any_service(maria):
    from datetime import datetime
    from datetime import timezone as dt_timezone

    late = datetime(9999, 12, 31, 23, 0, tzinfo=dt_timezone(-timedelta(hours=5)))
    with pytest.raises(ValidationError) as refused:
        activity_services.create_activity(
            organization=maria.organization,
            actor=maria,
            title="Far future",
            type=ActivityType.INSPECTION,
            start_time=late,
            end_time=late,
        )
    assert "start_time" in refused.value.message_dict
    assert not Activity.objects.exists()


# Text limits


def test_it_refuses_a_description_over_its_limit_in_the_schema_and_in_the_service(api, maria, tag):
    from activities.models import TAG_DESCRIPTION_MAX_LENGTH

    response = api("patch", f"/tags/{tag.pk}", {"description": "x" * (TAG_DESCRIPTION_MAX_LENGTH + 1)})
    assert response.status_code == 422
    with pytest.raises(ValidationError) as refused:
        activity_services.update_tag(actor=maria, tag=tag, description="x" * (TAG_DESCRIPTION_MAX_LENGTH + 1))
    assert "description" in refused.value.message_dict
    tag.refresh_from_db()
    assert tag.description == ""


def test_it_states_every_text_limit_in_the_openapi_schema(api):
    schema = api("get", "/openapi.json").json()["components"]["schemas"]
    assert schema["TagIn"]["properties"]["description"]["maxLength"] == 1000
    assert schema["ActivityIn"]["properties"]["description"]["maxLength"] == 10_000
    assert schema["ProjectIn"]["properties"]["description"]["maxLength"] == 10_000


def test_it_finds_a_null_character_anywhere_in_a_decoded_frame():
    from nexus.text import contains_nul

    assert contains_nul({"type": "chat.send", "content": "a\x00b"})
    assert contains_nul({"type": "x", "data": [{"k\x00": 1}]})
    assert not contains_nul({"type": "ping", "id": 1, "content": "C:\\u0000", "tags": [1, 2.5, None, True]})
