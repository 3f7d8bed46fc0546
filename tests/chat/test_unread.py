"""Unread counts always equal what the database says, after any sequence of sends, reads, deletes and reconnects."""

import json

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import selectors, services
from chat.consumers import _counts_frame
from chat.models import Membership, Message

pytestmark = pytest.mark.django_db

PEOPLE = ("maria", "bob", "carol")

operation = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(PEOPLE), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("read"), st.sampled_from(PEOPLE), st.integers(0, 2), st.integers(-1, 30)),
    st.tuples(st.just("delete"), st.sampled_from(PEOPLE), st.integers(0, 2), st.integers(0, 30)),
    st.tuples(st.just("mute"), st.sampled_from(PEOPLE), st.integers(0, 2), st.booleans()),
    st.tuples(st.just("reconnect"), st.sampled_from(PEOPLE), st.integers(0, 2), st.none()),
)


def _expected(user) -> dict[int, tuple[int, bool]]:
    """Counted the slow, obvious way from the rows."""
    expected = {}
    for membership in Membership.objects.filter(user=user):
        unread = [
            message
            for message in Message.objects.filter(conversation_id=membership.conversation_id)
            if message.id > (membership.last_read_message_id or 0)
            and message.sender_id != user.pk
            and message.deleted_at is None
        ]
        expected[membership.conversation_id] = (len(unread), membership.muted)
    return expected


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(operation, min_size=1, max_size=25))
def test_unread_counts_always_agree_with_the_database(maria, bob, carol, steps, settings_override):
    people = {"maria": maria, "bob": bob, "carol": carol}
    with transaction.atomic():
        conversations = [
            services.create_group(actor=maria, name="Trio", members=[bob, carol]),
            services.get_or_create_direct(user=maria, other=bob),
            services.create_channel(actor=carol, name="floor"),
        ]
        services.join_channel(user=bob, conversation=conversations[2])
        for kind, name, which, argument in steps:
            person, conversation = people[name], conversations[which]
            is_member = Membership.objects.filter(user=person, conversation=conversation).exists()
            if kind == "send" and is_member:
                roots = conversation.messages.filter(parent__isnull=True, deleted_at__isnull=True)
                parent = roots.last() if argument else None
                services.send_message(sender=person, conversation=conversation, content=f"{name} hi", parent=parent)
            elif kind == "read" and is_member:
                ids = list(conversation.messages.values_list("id", flat=True))
                up_to = None if argument < 0 or not ids else ids[argument % len(ids)]
                services.mark_read(user=person, conversation=conversation, up_to=up_to)
            elif kind == "delete":
                mine = list(conversation.messages.filter(sender=person, deleted_at__isnull=True))
                if mine:
                    services.delete_message(actor=person, message=mine[argument % len(mine)])
            elif kind == "mute" and is_member:
                services.set_muted(user=person, conversation=conversation, muted=argument)
            elif kind == "reconnect":
                frame = json.loads(_counts_frame(person))
                expected = _expected(person)
                assert frame["counts"] == {str(pk): unread for pk, (unread, _muted) in expected.items()}
                assert frame["total"] == sum(unread for unread, muted in expected.values() if not muted)
            for someone in people.values():
                counts = selectors.unread_counts_for(user_id=someone.pk)
                assert counts == _expected(someone)
                items = {item.conversation.pk: item.unread for item in selectors.conversations_for(user=someone)}
                assert items == {pk: unread for pk, (unread, _muted) in counts.items()}
        transaction.set_rollback(True)


@pytest.fixture
def settings_override(settings):
    settings.CHAT_RATE_LIMIT = 10_000
