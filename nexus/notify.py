"""The one door for notifying people.

`notify()` stores a notification per recipient with django-notifications (the
`notifications` app, so the bell and the notifications page read one table) and,
once the transaction commits, pushes each recipient's new unread count and a
toast to their sockets. People are never notified of their own actions.
"""

from collections.abc import Iterable

from django.db import transaction
from notifications.models import Notification
from notifications.signals import notify as notify_signal

from nexus.realtime import send_event_now, user_group


def notify(*, recipients: Iterable, verb: str, actor=None, target=None, description: str = "", level: str = "info"):
    """Notify each active recipient other than `actor` that `actor` did `verb` to `target`.

    `actor` may be None for the system; the target's organization then stands
    in as the actor django-notifications requires. Returns the recipients notified.
    """
    people = {person.pk: person for person in recipients if person is not None and person.is_active}
    if actor is not None:
        people.pop(actor.pk, None)
    if not people:
        return []
    sender = actor if actor is not None else getattr(target, "organization", None)
    if sender is None:
        raise ValueError("A system notification needs a target that belongs to an organization.")
    notify_signal.send(
        sender=sender,
        recipient=list(people.values()),
        verb=verb,
        target=target,
        description=description,
        level=level,
    )
    text = description or verb
    recipient_ids = list(people)
    transaction.on_commit(lambda: push_unread_counts(recipient_ids, text))
    return list(people.values())


def unread_count(user_id: int) -> int:
    return Notification.objects.filter(recipient_id=user_id).unread().count()


def push_unread_counts(user_ids: list[int], text: str = "") -> None:
    """Send each user their unread count (and a toast when `text` is given)."""
    for user_id in user_ids:
        payload = {"type": "notification", "unread": unread_count(user_id), "text": text}
        send_event_now([user_group(user_id)], {"type": "hub.json", "payload": payload})


def mark_notifications_read(*, user, ids) -> int:
    """Mark the person's notifications with these ids read; returns their unread count after.

    Ids of someone else's notifications are ignored (never an error that would
    confirm they exist). Every open tab gets the new count.
    """
    ids = [pk for pk in ids if isinstance(pk, int) and not isinstance(pk, bool)]
    Notification.objects.filter(recipient=user, pk__in=ids, unread=True).update(unread=False)
    transaction.on_commit(lambda: push_unread_counts([user.pk]))
    return unread_count(user.pk)


def mark_all_notifications_read(*, user) -> int:
    Notification.objects.filter(recipient=user, unread=True).update(unread=False)
    transaction.on_commit(lambda: push_unread_counts([user.pk]))
    return unread_count(user.pk)
