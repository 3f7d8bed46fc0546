from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.selectors import organizations_to_populate
from chat import services
from chat.models import SystemMessage
from nexus.permissions import Action, Role, can
from nexus.tenancy import scoped

MANAGERS = "<managers>"
# The power shutdown is this many days from today; its banner comes down when the power is back.
SHUTDOWN_IN_DAYS = 3

# One short banner: every page shows it, so the demo should not fill the screen with them. The author is a demo
# username of populate_users (None would be the system itself); the key makes it one per organization, however
# often this runs.
BANNERS = [
    {
        "key": "demo:power-shutdown",
        "title": "Power shutdown {day}, 06:00-14:00",
        "content": "Shut your machines down by 05:45.",
        "message_type": SystemMessage.Level.WARNING,
        "audience": "everyone",
        "author": "maria",
        "expires_in_days": SHUTDOWN_IN_DAYS,
    },
]
# Banners of earlier versions of this command; a database populated by one gets them taken down.
RETIRED_KEYS = ["demo:welcome", "demo:oee-review"]


class Command(BaseCommand):
    help = (
        "Create the demo banner of every organization: a short warning to everyone that expires in a few days "
        "(and take down the demo banners of earlier versions). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's slug (default: every organization).")
        parser.add_argument("--seed", type=int, default=1, help="Accepted for symmetry; this data is fixed.")

    @transaction.atomic
    def handle(self, *args, **options):
        organizations = organizations_to_populate(options["organization"])
        created = existing = skipped = retired = 0
        for organization in organizations:
            people = scoped(User, organization).filter(is_active=True).order_by("username")
            now = timezone.now()
            for old in scoped(SystemMessage, organization).filter(key__in=RETIRED_KEYS):
                if old.expires_at is None or old.expires_at > now:
                    services.expire_system_message(actor=None, system_message=old)
                    retired += 1
            for spec in BANNERS:
                if SystemMessage.objects.filter(organization=organization, key=spec["key"]).exists():
                    existing += 1
                    continue
                targets = self.managers(people) if spec["audience"] == MANAGERS else []
                if spec["audience"] == MANAGERS and not targets:
                    skipped += 1
                    continue
                title, expires_at = spec["title"], None
                if "expires_in_days" in spec:
                    zone = organization.tzinfo
                    shutdown = timezone.localdate(timezone=zone) + timedelta(days=spec["expires_in_days"])
                    title = title.format(day=f"{shutdown:%A} {shutdown.day} {shutdown:%B}")
                    expires_at = datetime.combine(shutdown, time(14), tzinfo=zone)
                services.create_system_message(
                    organization=organization,
                    title=title,
                    content=spec["content"],
                    message_type=spec["message_type"],
                    target_users=targets,
                    is_broadcast=spec["audience"] == "everyone",
                    expires_at=expires_at,
                    actor=self.author(people, spec["author"]),
                    key=spec["key"],
                )
                created += 1
        note = f" ({skipped} with nobody to address)" if skipped else ""
        note += f", {retired} old demo banners taken down" if retired else ""
        self.stdout.write(
            self.style.SUCCESS(f"populate_system_messages: {created} banners created, {existing} already there{note}.")
        )

    def managers(self, people) -> list[User]:
        """The managers; in an organization without any (Globex), its administrators manage it."""
        return list(people.filter(role=Role.MANAGER)) or list(people.filter(role=Role.ADMIN))

    def author(self, people, username: str | None) -> User | None:
        """The named author, else the first administrator; None (the system) when there is neither."""
        if username is None:
            return None
        author = people.filter(username=username).first()
        if author is not None and can(author, Action.BROADCAST_UPDATE):
            return author
        return people.filter(role=Role.ADMIN).first()
