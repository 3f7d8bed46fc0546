"""Broadcasts leave only after the transaction commits, and carry a JSON-safe type."""

import asyncio

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from nexus import realtime

pytestmark = pytest.mark.django_db(transaction=True)


def _observe(group: str, before_commit, after_commit=None):
    """Subscribe to `group`, then run `before_commit` inside a transaction.

    Returns (what arrived before the commit, what arrived after it). The layer is
    used from one event loop with one pending receive, as a consumer uses it: the
    Redis pub/sub layer unsubscribes a channel whose receive is cancelled.
    """

    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        atomic = transaction.atomic()
        await sync_to_async(atomic.__enter__)()
        failed = None
        try:
            await sync_to_async(before_commit)()
        except Exception as exc:
            failed = exc
        pending = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0.3)
        early = pending.result() if pending.done() else None
        if failed is None:
            await sync_to_async(atomic.__exit__)(None, None, None)
        else:
            await sync_to_async(atomic.__exit__)(type(failed), failed, failed.__traceback__)
        done, _ = await asyncio.wait({pending}, timeout=2.0)
        late = pending.result() if done and early is None else None
        pending.cancel()
        return early, late

    return async_to_sync(scenario)()


def test_it_sends_nothing_until_the_transaction_commits():
    early, late = _observe(
        "org.991", lambda: realtime.send_event_on_commit(["org.991"], {"type": "hub.json", "payload": {"n": 1}})
    )
    assert early is None
    assert late == {"type": "hub.json", "payload": {"n": 1}}


def test_it_sends_nothing_when_the_transaction_rolls_back():
    def fail_after_queueing():
        realtime.send_fragment_on_commit(["org.992"], "<div id='x'></div>")
        raise RuntimeError("rolled back")

    early, late = _observe("org.992", fail_after_queueing)
    assert early is None
    assert late is None


def test_it_refuses_events_without_a_type_or_not_json_safe():
    with pytest.raises(ValueError, match="type"):
        realtime.send_event_now(["org.1"], {"payload": 1})
    with pytest.raises(TypeError):
        realtime.send_event_now(["org.1"], {"type": "hub.json", "payload": object()})


def test_it_names_groups_per_organization_and_user():
    assert realtime.organization_group(7) == "org.7"
    assert realtime.user_group(7) == "user.7"


def test_events_queued_together_arrive_in_order_after_the_commit():
    async def scenario():
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("org.993", channel)
        await layer.group_add("user.993", channel)

        def queue():
            with transaction.atomic():
                realtime.send_events_on_commit(
                    [
                        (["org.993"], realtime.text_event({"n": 1})),
                        (["user.993", "org.993"], {"type": "hub.json", "payload": {"n": 2}}),
                    ]
                )

        await sync_to_async(queue)()
        received = [await asyncio.wait_for(layer.receive(channel), 2.0) for _ in range(3)]
        await layer.group_discard("org.993", channel)
        await layer.group_discard("user.993", channel)
        return received

    received = async_to_sync(scenario)()
    assert received == [
        {"type": "hub.text", "text": '{"n": 1}'},
        {"type": "hub.json", "payload": {"n": 2}},
        {"type": "hub.json", "payload": {"n": 2}},
    ]
