"""An activity's timeline over the socket: only pages that show it (and subscribed) get its fragments."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from activities import services
from activities.models import ActivityType
from nexus.realtime import MAX_SUBSCRIPTIONS
from tests.sockets import connect, frames_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _json_of_type(communicator, kind: str) -> dict:
    for text in await frames_of(communicator):
        if text.startswith("{") and json.loads(text)["type"] == kind:
            return json.loads(text)
    raise AssertionError(f"No {kind!r} frame arrived.")


def _activity(maria, title="Replace spindle bearing"):
    now = timezone.now()
    return services.create_activity(
        organization=maria.organization,
        actor=maria,
        title=title,
        type=ActivityType.MAINTENANCE,
        start_time=now,
        end_time=now + timedelta(hours=4),
    )


async def _subscribe(communicator, activity_id, topic="activity") -> dict:
    await communicator.send_to(text_data=json.dumps({"type": "subscribe", "topic": topic, "id": activity_id}))
    return json.loads(await communicator.receive_from(timeout=5))


async def test_it_sends_a_timeline_fragment_only_to_sockets_subscribed_to_that_activity(maria, carol, mallory):
    activity = await sync_to_async(_activity)(maria)
    other = await sync_to_async(_activity)(maria, title="Another one")
    viewer, bystander, watcher_of_other, outsider = [await connect(user) for user in (maria, carol, carol, mallory)]
    try:
        assert await _subscribe(viewer, activity.pk) == {"type": "subscribed", "topic": "activity", "id": activity.pk}
        assert (await _subscribe(watcher_of_other, other.pk))["type"] == "subscribed"

        await sync_to_async(services.add_comment)(author=carol, activity=activity, body="Bearing ordered")

        seen = await frames_of(viewer)
        fragments = [text for text in seen if not text.startswith("{")]
        assert len(fragments) == 1
        assert f"beforeend:#thread-{activity.pk}" in fragments[0] and "Bearing ordered" in fragments[0]
        for socket in (bystander, watcher_of_other):
            # Other pages of the organization hear only that the activity changed.
            frames = await frames_of(socket)
            assert all(text.startswith("{") for text in frames), frames
            assert [json.loads(text)["id"] for text in frames if '"activity.changed"' in text] == [activity.pk]
        assert await frames_of(outsider) == []
    finally:
        for socket in (viewer, bystander, watcher_of_other, outsider):
            await socket.disconnect()


async def test_it_stops_sending_fragments_after_unsubscribing(maria):
    activity = await sync_to_async(_activity)(maria)
    socket = await connect(maria)
    try:
        await _subscribe(socket, activity.pk)
        await socket.send_to(text_data=json.dumps({"type": "unsubscribe", "topic": "activity", "id": activity.pk}))
        assert json.loads(await socket.receive_from(timeout=5))["type"] == "unsubscribed"
        await sync_to_async(services.add_comment)(author=maria, activity=activity, body="Nobody sees this here")
        assert all(text.startswith("{") for text in await frames_of(socket))
    finally:
        await socket.disconnect()


async def test_it_refuses_to_subscribe_to_another_organizations_activity(maria, mallory):
    activity = await sync_to_async(_activity)(maria)
    socket = await connect(mallory)
    try:
        refused = await _subscribe(socket, activity.pk)
        missing = await _subscribe(socket, activity.pk + 1000)
        # A foreign activity gets the same answer as one that does not exist.
        assert refused == missing == {"type": "error", "error": "No such activity, or you may not follow it."}
        await sync_to_async(services.add_comment)(author=maria, activity=activity, body="Secret")
        assert await frames_of(socket) == []
    finally:
        await socket.disconnect()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        ({"type": "subscribe", "topic": "activity"}, "'id' must be a non-negative integer"),
        ({"type": "subscribe", "topic": "activity", "id": "5"}, "'id' must be a non-negative integer"),
        ({"type": "subscribe", "topic": "activity", "id": -1}, "'id' must be a non-negative integer"),
        ({"type": "subscribe", "topic": "machine-secrets", "id": 1}, "Unknown topic 'machine-secrets'"),
        ({"type": "subscribe", "id": 1}, "Unknown topic 'None'"),
        ({"type": "unsubscribe", "topic": 7, "id": 1}, "Unknown topic '7'"),
    ],
)
async def test_it_answers_bad_subscribe_frames_with_an_error(maria, frame, error):
    socket = await connect(maria)
    try:
        await socket.send_to(text_data=json.dumps(frame))
        answer = json.loads(await socket.receive_from(timeout=5))
        assert answer["type"] == "error" and error in answer["error"]
    finally:
        await socket.disconnect()


async def test_it_limits_how_many_activities_one_socket_follows(maria):
    activities = [await sync_to_async(_activity)(maria, title=f"A{n}") for n in range(MAX_SUBSCRIPTIONS + 1)]
    socket = await connect(maria)
    try:
        for activity in activities[:-1]:
            assert (await _subscribe(socket, activity.pk))["type"] == "subscribed"
        assert (await _subscribe(socket, activities[0].pk))["type"] == "subscribed"  # Again: no new one.
        answer = await _subscribe(socket, activities[-1].pk)
        assert answer["type"] == "error" and "At most" in answer["error"]
    finally:
        await socket.disconnect()
