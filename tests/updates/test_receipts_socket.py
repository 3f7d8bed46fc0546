"""An update's receipts over the socket: only pages following it get the acknowledgement fragment."""

import json

import pytest
from asgiref.sync import sync_to_async

from tests.sockets import connect, frames_of
from updates import services
from updates.models import Priority

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _subscribe(communicator, update_id) -> dict:
    await communicator.send_to(text_data=json.dumps({"type": "subscribe", "topic": "update", "id": update_id}))
    return json.loads(await communicator.receive_from(timeout=5))


def _critical(author, title="Evacuation drill at 14:00"):
    draft = services.Draft(title=title, priority=Priority.CRITICAL)
    return services.create_update(author=author, draft=draft, publish=True)


async def test_it_sends_the_receipts_fragment_only_to_sockets_following_the_update(maria, alice, bob, carol, mallory):
    update = await sync_to_async(_critical)(maria)
    other = await sync_to_async(_critical)(maria, title="Another drill")
    author, admin, authors_other_tab, follower_of_other, recipient, outsider = [
        await connect(user) for user in (maria, alice, maria, maria, carol, mallory)
    ]
    sockets = (author, admin, authors_other_tab, follower_of_other, recipient, outsider)
    try:
        for socket in (author, admin):
            assert await _subscribe(socket, update.pk) == {"type": "subscribed", "topic": "update", "id": update.pk}
        assert (await _subscribe(follower_of_other, other.pk))["type"] == "subscribed"
        for socket in sockets:
            await frames_of(socket, wait=0.2)  # Whatever publishing sent before this.

        await sync_to_async(services.acknowledge)(user=bob, update=update)

        for socket in (author, admin):
            fragments = [text for text in await frames_of(socket) if not text.startswith("{")]
            assert len(fragments) == 1, fragments
            html = fragments[0]
            assert f'id="update-{update.pk}-ack-state"' in html and 'hx-swap-oob="true"' in html
            acknowledged, pending = html.split("Not yet")
            assert "1 of 3 acknowledged" in acknowledged and "Bob" in acknowledged and "Nobody yet" not in acknowledged
            assert "Carol" in pending and "Alice" in pending and "Bob" not in pending
        # The author's page of something else hears only that the update changed; nobody else hears anything.
        frames = await frames_of(authors_other_tab)
        assert [json.loads(text) for text in frames] == [{"type": "updates.acknowledged", "id": update.pk}]
        assert [json.loads(text)["type"] for text in await frames_of(follower_of_other)] == ["updates.acknowledged"]
        assert await frames_of(recipient) == []
        assert await frames_of(outsider) == []
    finally:
        for socket in sockets:
            await socket.disconnect()


async def test_it_lets_only_those_who_see_the_receipts_follow_an_update(maria, carol, mallory):
    update = await sync_to_async(_critical)(maria)
    draft = await sync_to_async(services.create_update)(author=maria, draft=services.Draft(title="Not yet out"))
    recipient, outsider, author = await connect(carol), await connect(mallory), await connect(maria)
    try:
        refusal = {"type": "error", "error": "No such update, or you may not follow it."}
        # A recipient who does not manage it, another organization, an update that does not exist and a draft
        # (it has no receipts) all get the same answer.
        assert await _subscribe(recipient, update.pk) == refusal
        assert await _subscribe(outsider, update.pk) == refusal
        assert await _subscribe(outsider, update.pk + 1000) == refusal
        assert await _subscribe(author, draft.pk) == refusal
        await sync_to_async(services.acknowledge)(user=carol, update=update)
        assert all(text.startswith("{") for text in await frames_of(recipient))
        assert await frames_of(outsider) == []
    finally:
        for socket in (recipient, outsider, author):
            await socket.disconnect()
