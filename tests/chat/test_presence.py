"""Presence: counted per person in the cache, announced coalesced, one frame per organization per flush."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async

from chat import presence
from tests.chat.test_consumer import _connect
from tests.conftest import staff_members

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def _quick_flush(monkeypatch):
    monkeypatch.setattr(presence, "FLUSH_SECONDS", 0.3)


async def _presence_frames(socket, quiet: float = 0.8) -> list[dict]:
    """Every presence frame the socket receives until it has been quiet for `quiet` seconds."""
    frames = []
    while not await socket.receive_nothing(timeout=quiet):
        text = await socket.receive_from()
        if text.startswith('{"type": "presence"'):
            frames.append(json.loads(text))
    return frames


async def test_it_announces_a_connect_storm_in_a_few_frames_per_socket_not_one_per_connect(acme, monkeypatch):
    people = await sync_to_async(staff_members)(acme, 12)
    # A storm: everyone connects at once, well within a flush even on a busy machine (connected one by one,
    # a slow machine spread them over more flushes than the bound below allows).
    monkeypatch.setattr(presence, "FLUSH_SECONDS", 2.0)
    sockets = []
    try:
        for socket, connected, _ in await asyncio.gather(*(_connect(user=person) for person in people)):
            sockets.append(socket)
            assert connected
        received = [await _presence_frames(socket, quiet=2.5) for socket in sockets]
    finally:
        for socket in sockets:
            await socket.disconnect()

    total = sum(len(frames) for frames in received)
    # One frame per connect would be 12 * 11 / 2 = 66 here (and 500,000 for 1,000 people).
    assert total <= 2 * len(people), total
    everyone = {person.pk for person in people}
    heard = {}
    for person, frames in zip(people, received, strict=True):
        assert all(set(frame) == {"type", "online", "away"} for frame in frames), frames
        heard[person.pk] = set().union(*(frame["online"] for frame in frames))
    # The socket that joined first hears everyone who came after it; the others were told by the page.
    assert any(online >= everyone - {pk} for pk, online in heard.items()), heard


async def test_it_announces_who_went_away_when_their_last_tab_closes(acme, maria, bob):
    maria_socket, *_ = await _connect(user=maria)
    bob_first, *_ = await _connect(user=bob)
    bob_second, *_ = await _connect(user=bob)
    try:
        await _presence_frames(maria_socket)
        await bob_first.disconnect()
        assert await _presence_frames(maria_socket) == []  # Bob still has a tab open.
        await bob_second.disconnect()
        assert await _presence_frames(maria_socket) == [{"type": "presence", "online": [], "away": [bob.pk]}]
    finally:
        await maria_socket.disconnect()
    assert await sync_to_async(presence.online_ids)([bob.pk]) == set()


async def test_it_does_not_tell_a_person_about_themselves_alone(acme, maria, bob):
    maria_socket, *_ = await _connect(user=maria)
    try:
        frames = await _presence_frames(maria_socket)
        assert frames == []
        bob_socket, *_ = await _connect(user=bob)
        try:
            assert await _presence_frames(maria_socket) == [{"type": "presence", "online": [bob.pk], "away": []}]
            assert await _presence_frames(bob_socket) == []
        finally:
            await bob_socket.disconnect()
    finally:
        await maria_socket.disconnect()


async def test_it_never_announces_presence_to_another_organization(acme, maria, mallory):
    mallory_socket, *_ = await _connect(user=mallory)
    try:
        await _presence_frames(mallory_socket)
        maria_socket, *_ = await _connect(user=maria)
        await asyncio.sleep(0.1)
        await maria_socket.disconnect()
        assert await _presence_frames(mallory_socket) == []
    finally:
        await mallory_socket.disconnect()


async def test_it_answers_a_presence_query_for_the_organizations_people_only(acme, maria, bob, carol, mallory):
    bob_socket, *_ = await _connect(user=bob)
    mallory_socket, *_ = await _connect(user=mallory)
    maria_socket, *_ = await _connect(user=maria)
    try:
        await _presence_frames(maria_socket)
        query = {"type": "presence.query", "users": [bob.pk, carol.pk, mallory.pk]}
        await maria_socket.send_to(text_data=json.dumps(query))
        assert json.loads(await maria_socket.receive_from()) == {
            "type": "presence",
            "online": [bob.pk],
            "away": [carol.pk],
        }
        for bad in ({"users": "all"}, {"users": [True]}, {"users": list(range(501))}):
            await maria_socket.send_to(text_data=json.dumps({"type": "presence.query", **bad}))
            assert json.loads(await maria_socket.receive_from())["type"] == "error"
    finally:
        for socket in (bob_socket, mallory_socket, maria_socket):
            await socket.disconnect()


async def test_it_puts_a_person_back_online_when_their_ping_finds_the_mark_gone(acme, maria, bob):
    """After a Redis restart (or a mark that ran out) the next ping tells everyone again."""
    maria_socket, *_ = await _connect(user=maria)
    bob_socket, *_ = await _connect(user=bob)
    try:
        await _presence_frames(maria_socket)
        await sync_to_async(presence.disconnected)(bob.pk)  # As if Redis had forgotten him.
        assert await sync_to_async(presence.online_ids)([bob.pk]) == set()
        await bob_socket.send_to(text_data=json.dumps({"type": "ping", "id": 7}))
        assert await _presence_frames(maria_socket) == [{"type": "presence", "online": [bob.pk], "away": []}]
        assert await sync_to_async(presence.online_ids)([bob.pk]) == {bob.pk}
    finally:
        await maria_socket.disconnect()
        await bob_socket.disconnect()


@pytest.mark.asyncio(loop_scope="function")
async def test_it_counts_each_tab_in_and_out_and_the_person_leaves_with_the_last(maria, bob):
    """On Redis (CI) each step is one script; on the embedded cache the same steps one by one."""
    await sync_to_async(_count_tabs_in_and_out)(maria.pk, bob.pk)


def _count_tabs_in_and_out(person: int, other: int) -> None:
    from django.core.cache import cache

    cache.delete_many([presence._seen_key(person), presence._count_key(person)])
    assert presence.connected(person) is True  # First tab: came online.
    assert presence.connected(person) is False  # Second tab: already online.
    assert presence.online_ids([person, other]) == {person}
    assert presence.disconnected(person) is False  # One tab left.
    assert presence.online_ids([person]) == {person}
    assert presence.disconnected(person) is True  # The last one.
    assert presence.online_ids([person]) == set()
    assert cache.get(presence._count_key(person)) is None
    # A count that vanished (a Redis restart) is not a tab below zero: the next connect starts again at one.
    assert presence.disconnected(person) is True
    assert presence.connected(person) is True
    assert cache.get(presence._count_key(person)) == 1
