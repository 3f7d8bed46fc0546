"""Demo updates: a safety announcement, maintenance notices, a critical alert, news with photos and a draft.

Every update goes through `updates.services` (create_update, add_comment,
set_like, acknowledge), so recipients, acknowledgements, thumbnails and
notifications are the real ones. Published updates are then backdated to their
planned times (see `Command.backdate`) so the feed reads like a few weeks of
plant life. The files (a PDF, PNG photos) are generated in memory.

Each organization gets the set once: an update is found again by its title, so
running twice creates nothing; a larger --count only adds the missing news.
"""

import io
import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from notifications.models import Notification
from PIL import Image, ImageDraw

from accounts.models import Organization, User
from accounts.selectors import organizations_to_populate
from activities.management.commands.populate_activities import AREAS, LINES, MACHINES, PRODUCTS, SUPPLIERS
from nexus.permissions import Action, Role, can
from nexus.tenancy import scoped
from updates import services
from updates.models import Priority, Update, UpdateComment, UpdateLike, UpdateRecipient, UpdateType

# Who writes or reacts. Authors are the organization's managers and administrators.
MANAGER = "<manager>"  # The first manager (by username), else the first administrator.
ADMIN = "<admin>"  # The first administrator, else the first manager.
AUTHOR = "<author>"  # The update's author.
SOMEONE = "<someone>"  # A recipient other than the author, picked with the seed (each a different one).
EVERYONE = "<everyone>"


def day(offset: int, clock: str) -> tuple:
    """At `clock` (HH:MM, factory time) `offset` days from today; negative offsets are in the past."""
    return ("day", offset, clock)


def minutes_ago(minutes: int) -> tuple:
    return ("ago", minutes)


@dataclass(frozen=True)
class Comment:
    by: str
    text: str
    after_minutes: int
    replies: tuple["Comment", ...] = ()


@dataclass(frozen=True)
class Script:
    """One scripted update and what its recipients do with it."""

    title: str
    content: str
    type: str
    priority: str
    author: str
    audience: str | list[str]  # EVERYONE or roles; an organization with none of the roles gets everyone.
    when: tuple | None  # Published at (past), scheduled for (future), or None for a draft.
    attachments: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (file name, lines of the PDF)
    images: tuple[tuple[str, str, int], ...] = ()  # (file name, caption, picture number)
    comments: tuple[Comment, ...] = ()
    likes: float = 0.0  # Share of the other recipients who like it.
    acknowledged: float = 0.0  # Share of the other recipients who acknowledge it (critical updates).


SAFETY_RULES = (
    "Press shop safety rules",
    "1. Hearing protection is mandatory beyond the yellow line.",
    "2. Safety shoes and glasses at all times.",
    "3. Never reach into a press without lockout.",
    "4. Report every near miss to your shift lead.",
)

SCRIPT = [
    Script(
        title="Hearing protection is now mandatory in the whole press shop",
        content="From Monday the **whole press shop** is a hearing protection zone, not only the area around "
        "press P-300.\n\n- Ear defenders and plugs are in the dispensers at both entrances\n"
        "- Visitors get theirs at the gate\n\nThe updated safety rules are attached; please read them before "
        "your next shift.",
        type=UpdateType.ANNOUNCEMENT,
        priority=Priority.HIGH,
        author=ADMIN,
        audience=EVERYONE,
        when=day(-3, "08:15"),
        attachments=(("press-shop-safety-rules.pdf", SAFETY_RULES),),
        comments=(
            Comment(
                SOMEONE,
                "Do the plugs count, or do we need the ear defenders near the presses?",
                40,
                replies=(
                    Comment(AUTHOR, "Plugs are fine everywhere except at P-300, there it's ear defenders.", 55),
                    Comment(SOMEONE, "Thanks, I'll tell the night shift.", 80),
                ),
            ),
        ),
        likes=0.4,
    ),
    Script(
        title="Press P-300 annual service: the press line stops for one shift",
        content="The annual service of **press P-300** (hydraulics, safety valves, light curtains) takes the "
        "early shift of the day after tomorrow.\n\n- the press line stops from 06:00 to 14:00\n"
        "- lockout by maintenance from 05:45\n- spare seal kits are reserved in the crib",
        type=UpdateType.MAINTENANCE,
        priority=Priority.MEDIUM,
        author=MANAGER,
        audience=[Role.TECHNICIAN],
        when=day(1, "07:00"),
    ),
    Script(
        title="Compressor C-3 back in service",
        content="The condensate drain of **compressor C-3** is replaced and the pressure is stable at 7.5 bar. "
        "If you hear the old rattling again, report it as a fault on the machine.",
        type=UpdateType.MAINTENANCE,
        priority=Priority.LOW,
        author=MANAGER,
        audience=[Role.TECHNICIAN],
        when=day(-1, "15:30"),
        likes=0.5,
    ),
    Script(
        title="Do not use forklift FL-2: brake failure",
        content="Forklift **FL-2** failed its brake check this morning. It is tagged out and parked in the "
        "warehouse bay 3.\n\n**Do not use it** until maintenance releases it. Use FL-1 or FL-4 meanwhile.",
        type=UpdateType.ALERT,
        priority=Priority.CRITICAL,
        author=MANAGER,
        audience=EVERYONE,
        when=minutes_ago(180),
        acknowledged=0.6,
    ),
    Script(
        title="Line 2 retrofit done: the new conveyor is running",
        content="The retrofit of **Line 2** is finished: the new conveyor ran its first full shift yesterday "
        "without a stop. Thanks to everyone who worked the weekend to make it happen!",
        type=UpdateType.NEWS,
        priority=Priority.LOW,
        author=MANAGER,
        audience=EVERYONE,
        when=day(-2, "10:00"),
        images=(
            ("line-2-conveyor.png", "The new conveyor at the Line 2 infeed.", 0),
            ("line-2-first-shift.png", "First full shift: 1,240 housings without a stop.", 1),
        ),
        comments=(Comment(SOMEONE, "Much quieter than the old one 👏", 30),),
        likes=0.7,
    ),
    Script(
        title="Summer shift pattern, first proposal",
        content="Proposal for July and August: early shift 05:30-13:30, late shift 13:30-21:30, no night shift "
        "on Line 3. To be discussed with the works council before it goes out.",
        type=UpdateType.ANNOUNCEMENT,
        priority=Priority.MEDIUM,
        author=MANAGER,
        audience=EVERYONE,
        when=None,
    ),
]

# Generated updates (--count): news and announcements to everyone over the last weeks.
GENERATED = [
    (
        UpdateType.NEWS,
        "{line} reached {percent}% OEE last week",
        "Up from {previous}% the week before. The biggest gain came from shorter changeovers on {machine}.",
    ),
    (
        UpdateType.NEWS,
        "{days} days without a lost-time accident in {area}",
        "Keep it up, and keep reporting near misses: they are how we stay at zero.",
    ),
    (
        UpdateType.NEWS,
        "New supplier for {product}: {supplier}",
        "First deliveries arrive next week; the incoming inspection checks the first three lots in full.",
    ),
    (
        UpdateType.NEWS,
        "{machine} passed its safety inspection",
        "No findings. The next inspection is due in twelve months.",
    ),
    (
        UpdateType.ANNOUNCEMENT,
        "Fire drill in {area} this week",
        "No date announced. Know your assembly point and keep the emergency exits clear.",
    ),
    (
        UpdateType.ANNOUNCEMENT,
        "5S audit of {area} on Thursday",
        "Please tidy your workstations by Wednesday evening; the checklist is at the shift board.",
    ),
    (
        UpdateType.ANNOUNCEMENT,
        "Customer visit: {supplier} on site on Tuesday",
        "They will walk {line} at 10:00. Please keep the walkways clear and wear your hi-vis vests.",
    ),
    (
        UpdateType.ANNOUNCEMENT,
        "Canteen closes early on Friday",
        "The canteen closes at 13:30 on Friday for the kitchen inspection; the vending machines stay on.",
    ),
]
GENERATED_DAYS = (4, 21)  # Generated updates are published this many days ago (inclusive range).
DAY_STARTS, DAY_ENDS = 7 * 60, 16 * 60


@dataclass
class Planned:
    """An update to be there: its spec (scripted or generated), its author and when it is published."""

    key: str
    script: Script
    author: User
    when: datetime | None = None  # Publication time; in the future when scheduled, None for a draft.
    update: Update | None = None


def generated_script(*, index: int, seed: int, taken: set[str]) -> Script:
    """Generated update number `index + 1`: its own random stream, so a larger --count only appends.

    `taken` holds the titles planned before it; the template steps on until the title is new.
    """
    rng = random.Random(f"populate_updates:{seed}:{index}")
    pick, percent, days, days_back, minute = (
        rng.randrange(1000),
        rng.randint(70, 88),
        rng.randint(3, 40) * 10,
        rng.randint(*GENERATED_DAYS),
        rng.randint(DAY_STARTS, DAY_ENDS),
    )
    words = {
        "line": rng.choice(LINES),
        "machine": rng.choice(MACHINES),
        "area": rng.choice(AREAS),
        "product": rng.choice(PRODUCTS),
        "supplier": rng.choice(SUPPLIERS),
        "percent": percent,
        "previous": percent - rng.randint(2, 7),
        "days": days,
    }
    likes = rng.choice([0.0, 0.2, 0.4, 0.6])
    for step in range(len(GENERATED)):
        kind, title, content = GENERATED[(pick + step) % len(GENERATED)]
        title = _capitalized(title.format(**words))
        if title not in taken:
            break
    else:
        title = f"{title} ({index + 1})"
    return Script(
        title=title,
        content=_capitalized(content.format(**words)),
        type=kind,
        priority=Priority.LOW if kind == UpdateType.NEWS else Priority.MEDIUM,
        author=MANAGER if index % 3 else ADMIN,
        audience=EVERYONE,
        when=("minute", -days_back, minute),
        likes=likes,
    )


def _capitalized(text: str) -> str:
    return f"{text[0].upper()}{text[1:]}"


# Files


def pdf_document(lines: tuple[str, ...]) -> bytes:
    """A one-page PDF with `lines` of text (ASCII), offsets and all, as a PDF reader expects."""
    text = ["BT", "/F1 18 Tf", "72 760 Td", "24 TL"]
    for number, line in enumerate(lines):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        text.append(f"({escaped}) Tj T*" if number else f"({escaped}) Tj T* /F1 12 Tf")
    text.append("ET")
    stream = "\n".join(text).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def picture(number: int, *, seed: int, width: int = 960, height: int = 540) -> bytes:
    """A PNG 'photo': a sky-to-floor gradient, a hall and a conveyor with boxes; colours vary with the seed."""
    rng = random.Random(f"populate_updates:{seed}:picture:{number}")
    top = (rng.randint(120, 200), rng.randint(150, 210), rng.randint(200, 250))
    bottom = (rng.randint(60, 110), rng.randint(60, 110), rng.randint(60, 110))
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        share = y / (height - 1)
        draw.line(
            [(0, y), (width, y)], fill=tuple(round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True))
        )
    draw.rectangle([60, 120, width - 60, height - 140], fill=(200, 200, 205), outline=(90, 90, 95), width=4)
    belt = height - 200
    draw.rectangle([40, belt, width - 40, belt + 30], fill=(40, 40, 45))
    for x in range(80, width - 40, 90):
        draw.ellipse([x - 14, belt + 22, x + 14, belt + 50], fill=(25, 25, 25))
    colour = (rng.randint(180, 240), rng.randint(100, 160), rng.randint(20, 60))
    for x in range(100 + 40 * number, width - 120, rng.randint(140, 200)):
        draw.rectangle([x, belt - 60, x + 70, belt], fill=colour, outline=(60, 40, 20), width=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class Command(BaseCommand):
    help = (
        "Create the demo updates of every organization: a safety announcement with a PDF and comments, "
        "maintenance notices for technicians (one scheduled), a critical alert half acknowledged, news with "
        "photos and likes, a manager's draft, plus --count generated news and announcements. Idempotent: "
        "updates are found again by title, so a larger --count only adds the missing ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's slug (default: every organization).")
        parser.add_argument(
            "--count", type=int, default=6, help="Generated news and announcements per organization on top."
        )
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data and who reacts.")

    def handle(self, *args, **options):
        count, seed = options["count"], options["seed"]
        if count < 0:
            raise CommandError("--count must not be negative.")
        now = timezone.now()
        created = existing = skipped = 0
        with transaction.atomic():
            for organization in organizations_to_populate(options["organization"]):
                authors = self.authors_of(organization)
                if not authors:
                    skipped += 1
                    self.stdout.write(
                        f"  {organization.slug}: skipped, nobody there may post updates (no manager or administrator)"
                    )
                    continue
                planned = self.plan(organization, authors, count=count, seed=seed, now=now)
                taken = set(scoped(Update, organization).values_list("title", flat=True))
                missing = [item for item in planned if item.script.title not in taken]
                existing += len(planned) - len(missing)
                self.create(organization, missing, seed=seed, now=now)
                created += len(missing)
        note = f", {skipped} organizations skipped" if skipped else ""
        self.stdout.write(
            self.style.SUCCESS(f"populate_updates: {created} updates created, {existing} already there{note}.")
        )

    # Planning

    def authors_of(self, organization: Organization) -> dict[str, User]:
        """MANAGER and ADMIN of the organization; empty when nobody may broadcast."""
        people = scoped(User, organization).filter(is_active=True, role__in=[Role.MANAGER, Role.ADMIN])
        people = [person for person in people.order_by("username") if can(person, Action.BROADCAST_UPDATE)]
        managers = [person for person in people if person.role == Role.MANAGER]
        admins = [person for person in people if person.role == Role.ADMIN]
        if not people:
            return {}
        return {MANAGER: (managers or admins)[0], ADMIN: (admins or managers)[0]}

    def plan(self, organization: Organization, authors: dict, *, count: int, seed: int, now) -> list[Planned]:
        """Every update the organization's demo has, oldest first; drafts and scheduled ones last."""
        zone = organization.tzinfo
        planned = [
            Planned(f"script:{n}", spec, authors[spec.author], self.resolve(spec.when, now=now, zone=zone))
            for n, spec in enumerate(SCRIPT)
        ]
        taken = {spec.title for spec in SCRIPT}
        for index in range(count):
            spec = generated_script(index=index, seed=seed, taken=taken)
            taken.add(spec.title)
            planned.append(
                Planned(f"generated:{index}", spec, authors[spec.author], self.resolve(spec.when, now=now, zone=zone))
            )
        far = now + timedelta(days=3650)
        return sorted(planned, key=lambda item: (item.when is None, item.when or far))

    def resolve(self, when: tuple | None, *, now: datetime, zone) -> datetime | None:
        if when is None:
            return None
        if when[0] == "ago":
            return now - timedelta(minutes=when[1])
        local_day = timezone.localdate(now, timezone=zone) + timedelta(days=when[1])
        if when[0] == "minute":
            return datetime.combine(local_day, time(0), tzinfo=zone) + timedelta(minutes=when[2])
        hour, minute = (int(part) for part in when[2].split(":"))
        return datetime.combine(local_day, time(hour, minute), tzinfo=zone)

    # Creating

    def progress(self, organization: Organization, done: int, total: int) -> None:
        self.stdout.write(f"\r  {organization.slug}: {done}/{total} updates", ending="")
        self.stdout.flush()

    def create(self, organization: Organization, missing: list[Planned], *, seed: int, now: datetime) -> None:
        total = len(missing)
        if not total:
            self.stdout.write(f"  {organization.slug}: nothing to add")
            return
        for done, item in enumerate(missing, start=1):
            self.write(organization, item, seed=seed, now=now)
            self.progress(organization, done, total)
        self.stdout.write("")

    def audience(self, organization: Organization, spec: Script) -> dict:
        if spec.audience == EVERYONE:
            return {"target_all": True}
        roles = list(spec.audience)
        if not scoped(User, organization).filter(is_active=True, role__in=roles).exists():
            return {"target_all": True}  # Nobody has the roles here (Globex has no technicians).
        return {"target_all": False, "target_roles": roles}

    def write(self, organization: Organization, item: Planned, *, seed: int, now: datetime) -> None:
        spec = item.script
        draft = services.Draft(
            title=spec.title,
            content=spec.content,
            type=spec.type,
            priority=spec.priority,
            **self.audience(organization, spec),
        )
        files = [
            SimpleUploadedFile(name, pdf_document(lines), content_type="application/pdf")
            for name, lines in spec.attachments
        ]
        media = [
            (SimpleUploadedFile(name, picture(number, seed=seed), content_type="image/png"), caption)
            for name, caption, number in spec.images
        ]
        published = item.when is not None and item.when <= now
        scheduled = item.when if item.when is not None and item.when > now else None
        notified = self.newest_notification()
        item.update = services.create_update(
            author=item.author, draft=draft, files=files, media=media, publish=published, publish_at=scheduled
        )
        if not published:
            return
        self.backdate(item.update, item.when, since=notified)
        rng = random.Random(f"populate_updates:{seed}:{organization.slug}:{item.key}")
        others = list(
            User.objects.filter(update_receipts__update=item.update, is_active=True)
            .exclude(pk=item.author.pk)
            .order_by("username")
        )
        rng.shuffle(others)
        self.comment(item, others, now=now)
        self.react(item, others, rng, now=now)

    def comment(self, item: Planned, others: list[User], *, now: datetime) -> None:
        """The script's comments; SOMEONE is each time the next of `others`, and left out when they run out."""
        speakers = iter(others)
        for line in item.script.comments:
            person = item.author if line.by == AUTHOR else next(speakers, None)
            if person is None:
                return
            top = self.add_comment(item, person, line, now=now)
            for reply in line.replies:
                person = item.author if reply.by == AUTHOR else next(speakers, None)
                if person is not None:
                    self.add_comment(item, person, reply, parent=top, now=now)

    def add_comment(self, item: Planned, person: User, line: Comment, *, now: datetime, parent=None) -> UpdateComment:
        when, since = self.time_of(item, line.after_minutes, now), self.newest_notification()
        comment = services.add_comment(user=person, update=item.update, content=line.text, parent=parent)
        UpdateComment.objects.filter(pk=comment.pk).update(created_at=when)
        self.date_notifications(since, when)
        return comment

    def react(self, item: Planned, others: list[User], rng: random.Random, *, now: datetime) -> None:
        spec = item.script
        for person in others[: round(len(others) * spec.likes)]:
            when, since = self.time_of(item, rng.randint(5, 240), now), self.newest_notification()
            services.set_like(user=person, update=item.update, liked=True)
            UpdateLike.objects.filter(update=item.update, user=person).update(created_at=when)
            self.date_notifications(since, when)
        if spec.priority != Priority.CRITICAL:
            return
        # Of the recipients (the author is not one) some have acknowledged, and at least one has not yet.
        acknowledging = others[: min(round(len(others) * spec.acknowledged), max(len(others) - 1, 0))]
        for person in acknowledging:
            when = self.time_of(item, rng.randint(5, 150), now)
            receipt = services.acknowledge(user=person, update=item.update)
            UpdateRecipient.objects.filter(pk=receipt.pk).update(acknowledged_at=when)

    # Backdating

    def newest_notification(self) -> int:
        return Notification.objects.aggregate(newest=Max("pk"))["newest"] or 0

    def backdate(self, update: Update, when: datetime, *, since: int) -> None:
        """Move a just published update (and the notifications it sent) to `when`."""
        Update.objects.filter(pk=update.pk).update(created_at=when, updated_at=when, published_at=when)
        update.refresh_from_db(fields=["created_at", "updated_at", "published_at"])
        self.date_notifications(since, when)

    def time_of(self, item: Planned, minutes: int, now: datetime) -> datetime:
        """`minutes` after the publication, but never later than now."""
        return min(item.when + timedelta(minutes=minutes), now)

    def date_notifications(self, since: int, when: datetime) -> None:
        Notification.objects.filter(pk__gt=since).update(timestamp=when)
