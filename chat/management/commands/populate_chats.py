"""Demo chat: channels, groups and direct conversations with a few days of factory talk.

Every message goes through `chat.services` (send_message, post_system_message,
toggle_reaction, mark_read), so mentions, notifications, thread counts and
read marks are the real ones. The messages are then backdated over the last
few days in one bulk update (see `Command.backdate`), keeping ids in time order.
"""

import random
import sys
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.test.utils import override_settings
from django.utils import timezone
from notifications.models import Notification

from accounts.models import Organization, User
from accounts.selectors import organizations_to_populate
from activities.management.commands.populate_activities import AREAS, LINES, MACHINES, PRODUCTS, SUPPLIERS
from chat import services
from chat.models import Conversation, Message, Reaction
from nexus.markdown import mentioned_usernames
from nexus.permissions import Role
from nexus.tenancy import scoped

# Speakers are the demo usernames of populate_users, or one of these.
ADMIN = "<admin>"  # The organization's first active administrator: alice in Acme, mallory in Globex.
SYSTEM = None  # A system message (post_system_message), as a machine app would post.
EVERYONE = "<everyone>"  # Every active member of the organization.


def day(offset: int, clock: str) -> tuple:
    """At `clock` (HH:MM, factory time) `offset` days from today; offsets are negative, so always past."""
    return ("day", offset, clock)


def minutes_ago(minutes: int) -> tuple:
    return ("ago", minutes)


@dataclass(frozen=True)
class Line:
    """One scripted message, its thread replies, and who reacted with what."""

    when: tuple
    speaker: str | None
    text: str
    replies: tuple["Line", ...] = ()
    reactions: tuple[tuple[str, str], ...] = ()


# Times: yesterday's lines end by 22:00 and today's start at most 100 minutes ago, so the script
# keeps its order whenever it runs (even just after midnight).
CHANNELS = [
    {
        "key": "demo:general",
        "name": "general",
        "topic": "Plant-wide news and everything else",
        "members": EVERYONE,
        "talk": "general",
        "weight": 3,
        "lines": [
            Line(
                day(-3, "07:30"),
                ADMIN,
                "Welcome to **Nexus** 👋 This is the place for plant-wide news.\n"
                "- breakdowns and spare parts go in #maintenance\n"
                "- defects and audits in #quality\n"
                "- and a short note in #shift-handover at every shift change",
                reactions=(("maria", "👍"), ("sam", "🎉"), ("sue", "👍")),
            ),
            Line(
                day(-3, "08:10"),
                "maria",
                "Reminder: the **ISO 9001 recertification** audit is in six weeks. "
                "@sue is collecting the open findings, please send her yours by Friday.",
                replies=(
                    Line(
                        day(-3, "08:25"),
                        "sue",
                        "Thanks! What I still need:\n"
                        "- calibration records of the press line\n"
                        "- 5S audit photos from assembly\n"
                        "- training sign-offs of the new operators",
                    ),
                    Line(day(-3, "09:02"), "sam", "The Line 2 sign-offs are in the binder, I'll scan them today."),
                ),
                reactions=(("sue", "👍"),),
            ),
            Line(
                day(-2, "12:15"),
                "alice",
                "The Wi-Fi in the press shop is down for about 15 minutes at 13:00 while I swap an access point. "
                "Terminals on the wired network are not affected.",
            ),
            Line(
                day(-1, "07:45"),
                "maria",
                "**Good news:** Line 2 ran at 78% OEE last week, up from 71%. Thanks everyone!",
                reactions=(("tom", "🎉"), ("tina", "🎉"), ("sam", "❤️")),
            ),
            Line(
                minutes_ago(45), "sue", "Customer visit tomorrow at 10:00, please keep the walkways in assembly clear."
            ),
        ],
    },
    {
        "key": "demo:maintenance",
        "name": "maintenance",
        "topic": "Breakdowns, planned maintenance and spare parts",
        "members": ["alice", "maria", "tom", "tina", "sam"],
        "talk": "maintenance",
        "weight": 3,
        "lines": [
            Line(day(-3, "06:40"), SYSTEM, "Preventive maintenance due: **CNC mill M-101** (500-hour service)."),
            Line(
                day(-3, "06:55"),
                "tom",
                "I'll take the M-101 service this morning. @sam please move the job to the lathe until 10:00.",
                reactions=(("sam", "👍"),),
            ),
            Line(
                day(-2, "14:20"),
                SYSTEM,
                "Fault reported on **press P-300**: hydraulic pressure low (`E-214`).",
                replies=(
                    Line(day(-2, "14:26"), "tina", "On it. Looks like the seal of the main cylinder again."),
                    Line(
                        day(-2, "15:40"),
                        "tina",
                        "Seal replaced, pressure back at 180 bar ✅ Logged it on the activity.",
                        reactions=(("maria", "❤️"), ("tom", "👍")),
                    ),
                ),
            ),
            Line(
                day(-1, "10:05"),
                "tina",
                "Spare parts running low:\n"
                "- V-belts for `CV-5` (1 left)\n"
                "- hydraulic seal kits for `P-300` (none left)\n\n"
                "@maria can you approve the order?",
                replies=(Line(day(-1, "10:30"), "maria", "Approved, the order goes out today."),),
            ),
            Line(
                day(-1, "16:10"),
                "tom",
                "Lockout on **robot welder W-12** until tomorrow 08:00. **Do not remove my lock**, "
                "the wire feeder is open.",
                reactions=(("tina", "👀"),),
            ),
            Line(minutes_ago(70), SYSTEM, "Fault reported on **conveyor CV-5**: motor overload. @tom is on call."),
            Line(minutes_ago(62), "tom", "Checking CV-5 now."),
        ],
    },
    {
        "key": "demo:quality",
        "name": "quality",
        "topic": "Defects, audits, calibration and customer complaints",
        "members": ["maria", "tom", "sam", "sue"],
        "talk": "quality",
        "weight": 2,
        "lines": [
            Line(
                day(-3, "09:30"),
                "sue",
                "Burrs on **bracket BR-200** from the press line. Lot `L-2291` is on hold in the red area "
                "until we sort it out.",
                replies=(
                    Line(
                        day(-3, "09:50"),
                        "tom",
                        "The punch of P-300 is due for sharpening, that's probably it. I'll swap it after lunch.",
                    ),
                    Line(
                        day(-3, "15:05"),
                        "sue",
                        "The new punch fixed it: 30 parts checked, all good. Releasing the lot ✅",
                        reactions=(("maria", "👍"), ("sam", "👍")),
                    ),
                ),
                reactions=(("maria", "👀"),),
            ),
            Line(
                day(-2, "11:00"),
                "sue",
                "Gauges due for calibration this week: `G-14`, `G-22` and `G-31`. Please bring them to the lab "
                "by Thursday.",
            ),
            Line(
                day(-1, "13:20"),
                "sam",
                "@sue scratches on **panel P-5** again, the second time this week. Photos are on the clipboard "
                "at station 4.",
                replies=(
                    Line(day(-1, "13:35"), "sue", "Coming over. Put the parts in the quarantine box in the meantime."),
                ),
            ),
            Line(
                minutes_ago(30),
                "maria",
                "Customer complaint about **housing H-14**: wrong label on two boxes. @sue can you open a CAPA?",
            ),
        ],
    },
    {
        "key": "demo:shift-handover",
        "name": "shift-handover",
        "topic": "What the next shift needs to know",
        "members": EVERYONE,
        "talk": "handover",
        "weight": 2,
        "lines": [
            Line(
                day(-2, "06:05"),
                "sam",
                "**Night → early**\n"
                "- Line 1: 1,240 pcs of gear G-36, target met\n"
                "- Line 2: stopped 25 min for a jam at the infeed, cleared\n"
                "- Open: material for shaft S-8 not delivered yet",
            ),
            Line(
                day(-2, "14:05"),
                "tom",
                "**Early → late**\n"
                "- press P-300 back in service after the seal change\n"
                "- CNC lathe L-204: tool 7 worn, swap it at the next changeover",
            ),
            Line(
                day(-1, "06:02"),
                "sam",
                "**Night → early**\n"
                "1. Line 2 ran all night without a stop\n"
                "2. Paint booth PB-1 filters at 80%, change them at the weekend\n"
                "3. The scrap bin in assembly is full",
            ),
            Line(
                day(-1, "14:03"),
                "tina",
                "**Early → late**\n"
                "- lockout on W-12 stays until tomorrow\n"
                "- condensate drain of compressor C-3 replaced",
                reactions=(("sam", "👍"),),
            ),
            Line(day(-1, "22:00"), "tom", "**Late → night**: nothing special, Line 2 runs housing H-14 to the end."),
        ],
    },
]

GROUPS = [
    {
        "name": "Line 2 crew",
        "owner": "maria",
        "members": ["tom", "tina", "sam"],
        "lines": [
            Line(
                day(-3, "15:00"),
                "maria",
                "Line 2 retrofit: the new conveyor arrives **next Monday**. The plan:\n"
                "1. Friday late shift empties the line\n"
                "2. At the weekend @tom and @tina take the old conveyor out\n"
                "3. Monday we install and test",
                replies=(
                    Line(day(-3, "15:20"), "tom", "Works for me. We need the forklift with the long forks."),
                    Line(
                        day(-3, "15:32"),
                        "tina",
                        "I'll back up the PLC program before we start.",
                        reactions=(("maria", "👍"),),
                    ),
                ),
            ),
            Line(
                day(-1, "09:15"),
                "sam",
                "Can one operator stay on Line 2 during the retrofit for the light curtain tests?",
            ),
            Line(day(-1, "09:40"), "maria", "Yes: you, on Saturday morning."),
        ],
    },
    {
        "name": "Audit prep",
        "owner": "sue",
        "members": ["maria", "sam"],
        "lines": [
            Line(
                day(-2, "10:00"),
                "sue",
                "A small group for the audit, so we don't flood #general. First up: the **5S audit** of assembly "
                "on Thursday.",
            ),
            Line(day(-2, "10:12"), "sam", "I'll tidy the shelves at station 4 before that."),
            Line(minutes_ago(90), "sue", "The checklist is on the ISO project, please tick off what you finish."),
        ],
    },
]

DIRECTS = [
    {
        "people": ("maria", "tom"),
        "lines": [
            Line(day(-2, "08:30"), "maria", "Could you look at the noise of compressor C-3 today?"),
            Line(day(-2, "08:34"), "tom", "Yes, after the M-101 service. Probably the drain valve."),
            Line(minutes_ago(20), "maria", "Thanks for the quick fix on CV-5 🙏"),
        ],
    },
    {
        "people": ("tom", "tina"),
        "lines": [
            Line(day(-1, "16:30"), "tina", "Did you take the spare multimeter? It's not in the tool crib."),
            Line(day(-1, "16:45"), "tom", "Yes, sorry, it's in my locker. I'll put it back tomorrow morning."),
        ],
    },
    {
        "people": ("sam", "sue"),
        "lines": [
            Line(day(-1, "13:25"), "sam", "I posted the photos of the P-5 scratches in #quality."),
            Line(day(-1, "13:27"), "sue", "Got them, thanks!"),
        ],
    },
    {
        "people": ("alice", "maria"),
        "lines": [
            Line(day(-2, "09:00"), "maria", "Could you give Sue access to the reports? She needs them for the audit."),
            Line(
                day(-2, "09:20"),
                "alice",
                "Reports come with the manager role, but I can export the OEE report for her. I'll send it today.",
            ),
        ],
    },
]

# Generated talk, by the kind of conversation, with the replies that fit it. Placeholders are filled
# from the factory's vocabulary; {other} is another member (for a reply, the person replied to).
TALK = {
    "general": [
        "Reminder: **safety walk** in {area} at 10:00. Hi-vis vests please.",
        "Who has the key to the cage in {area}?",
        "{line} runs {product} all day today, please keep the aisle by the racks free.",
        "The forklift charger in {area} is blocked by pallets again 🙄",
        "Visitors from {supplier} on site tomorrow; @{other} will walk them round.",
        "Found a torque wrench next to {machine}. It's in the tool crib now.",
        "The canteen closes at 13:30 on Friday.",
        "Fire drill this week, no date announced. Know your assembly point!",
        "Whoever parked the pallet jack in front of the emergency exit in {area}: please move it.",
    ],
    "maintenance": [
        "{machine} makes a grinding noise at start-up, can someone have a look? @{other}",
        "Filters of {machine} changed, running normally again ✅",
        "Spare belts for {machine} arrive on Thursday.",
        "`{code}` again on {machine}. I reset it and I'm watching it.",
        "Checklist for the {machine} service:\n- check the oil level\n- grease the guides\n- inspect the drive belt",
        "Lockout on {machine} until 14:00, **do not start it**.",
        "@{other} do we have a spare proximity sensor for {machine}?",
        "Oil leak under {machine}, I put absorbent down. Needs a look before the next shift.",
    ],
    "quality": [
        "Burrs on {product} from {machine}; I put the last {number} pieces on hold.",
        "First-article inspection of {product} passed ✅ The measurements are in the shared folder.",
        "Gauge `G-{gauge}` is due for calibration this week.",
        "Please sign the **deviation form** for {product} before it ships.",
        "SPC on {machine}: Cpk down to 1.12. @{other} can you check the tooling?",
        "Reminder: parts dropped on the floor go in the **scrap bin**, not back on the line.",
        "Material certificate from {supplier} is missing for the last delivery. @{other} can you chase it?",
    ],
    "handover": [
        "**{shift}**\n- {line}: {product}, {pieces} pcs\n- {machine}: running fine\n"
        "- Open: material from {supplier} not here yet",
        "**{shift}**: {line} stopped for 20 minutes with a jam at the infeed; cleared.",
        "**{shift}**: all quiet on {line}, nothing to hand over.",
        "**{shift}**\n1. {machine} needs new tooling at the next changeover\n2. The scrap bin in {area} is full",
    ],
    "chatter": [
        "Can you cover for me tomorrow at 14:00?",
        "On my way to {area}.",
        "Did you see the new schedule for {line}?",
        "I'll bring the parts list after the break.",
        "Do you know where the spare keys of {machine} are?",
        "Running 10 minutes late, sorry.",
        "Do you have a minute after the shift meeting?",
        "The drawings of {product} are updated, check revision C before you start.",
        "Can you check how many {product} kits are left in {area}?",
    ],
}
REPLIES = {
    "general": ["Thanks @{other}!", "👍", "Noted.", "Good to know, thanks."],
    "maintenance": [
        "On it.",
        "Checked, looks fine now.",
        "I'll have a look after the break.",
        "Can you send a photo?",
        "Parts are in the crib, bin 14.",
        "Done ✅",
    ],
    "quality": [
        "How many pieces are affected?",
        "Can you send a photo?",
        "Put them in the quarantine box, I'll come by at 14:00.",
        "Done ✅",
    ],
    "handover": ["Thanks, noted.", "👍", "Got it, I'll keep an eye on it."],
    "chatter": ["Sure.", "Thanks @{other}!", "👍", "OK, thanks.", "Will do."],
}
CODES = ["E-214", "ALM 1021", "F0030", "E-07", "OVL-3"]
# Handover notes are written when a shift ends, at 06:00, 14:00 and 22:00.
SHIFTS = [("Night → early", 6), ("Early → late", 14), ("Late → night", 22)]
# Other messages fall in the working day, 06:00 to 21:45.
DAY_STARTS, DAY_ENDS = 6 * 60, 21 * 60 + 45
EMOJI = ["👍", "✅", "👀", "🎉", "❤️"]
GROUP_WEIGHT = 2
DIRECT_WEIGHT = 1
REPLY_SHARE = 0.3
REACTION_SHARE = 0.2
RECENT_PARENTS = 5
RECENT_TEMPLATES = 3
# Generated messages fill the days before today (replies end before midnight), so whatever the time
# of the run, they keep their order among themselves; that is what finds them again on the next run.
GENERATED_DAYS = 4
# How many of a conversation's newest messages each member has not read yet.
UNREAD_BEHIND = [0, 0, 0, 1, 2, 3, 5]
# Seeding is an administrator's bulk action, not a person typing: lift the per-person rate limit for the run.
SEEDING_RATE_LIMIT = sys.maxsize


@dataclass
class Room:
    """A conversation of the demo and who is in it."""

    conversation: Conversation
    name: str  # Stable across runs: seeds the read marks.
    talk: str
    weight: int
    members: list[User]

    @property
    def member_ids(self) -> set[int]:
        return {member.pk for member in self.members}


@dataclass
class Planned:
    """A message to be there: found from an earlier run, or sent in this one."""

    room: Room
    when: datetime
    sender: User | None
    content: str
    parent: "Planned | None" = None
    reactions: list[tuple[User, str]] = field(default_factory=list)
    order: int = 0
    message: Message | None = None
    template: str = ""


def _fill(template: str, words: dict) -> str:
    text = template.format(**words)
    return f"{text[0].upper()}{text[1:]}" if text[0].islower() else text


def _weighted(rooms: list[Room], roll: float) -> Room:
    point = roll * sum(room.weight for room in rooms)
    for room in rooms:
        point -= room.weight
        if point < 0:
            return room
    return rooms[-1]


def _fresh(templates: list[str], pick: int, recent: set[str]) -> str:
    """The picked template, or the next one not used in the conversation lately."""
    for step in range(len(templates)):
        template = templates[(pick + step) % len(templates)]
        if template not in recent:
            return template
    return templates[pick % len(templates)]


def _wall_clock(now: datetime, zone, *, days_back: int, minute_of_day: int) -> datetime:
    """`minute_of_day` on the day `days_back` days before today in the factory."""
    today = datetime.combine(timezone.localdate(now, timezone=zone), time(0), tzinfo=zone)
    return today + timedelta(days=-days_back, minutes=minute_of_day)


def generated_message(
    *, index: int, seed: int, rooms: list[Room], earlier: dict[str, list[Planned]], now: datetime, zone
) -> Planned | None:
    """Generated message number `index + 1`, or None when no conversation has two people to talk.

    Each message has its own random stream, drawn in full whoever is there, so
    it is the same whatever --count is and a larger count only appends.
    `earlier` holds the messages generated before it, by room: what it may
    reply to and which texts it should not repeat.
    """
    rng = random.Random(f"populate_chats:{seed}:{index}")
    room_roll, reply_roll, reaction_roll = rng.random(), rng.random(), rng.random()
    parent_pick, speaker_pick, other_pick, reactor_pick, template_pick = (rng.randrange(1000) for _ in range(5))
    shift_label, shift_hour = rng.choice(SHIFTS)
    words = {
        "machine": rng.choice(MACHINES),
        "line": rng.choice(LINES),
        "area": rng.choice(AREAS),
        "product": rng.choice(PRODUCTS),
        "supplier": rng.choice(SUPPLIERS),
        "code": rng.choice(CODES),
        "shift": shift_label,
        "number": rng.randint(2, 12) * 10,
        "gauge": rng.randint(10, 60),
        "pieces": f"{rng.randint(4, 30) * 50:,}",
    }
    emoji = rng.choice(EMOJI)
    days_back = rng.randint(1, GENERATED_DAYS)
    minute_of_day = rng.randint(DAY_STARTS, DAY_ENDS)
    handover_minute = shift_hour * 60 + rng.randint(0, 9)
    reply_after = rng.randint(3, 90)

    rooms = [room for room in rooms if len(room.members) >= 2]
    if not rooms:
        return None
    room = _weighted(rooms, room_roll)
    in_room = earlier.get(room.name, [])
    recent_templates = {item.template for item in in_room[-RECENT_TEMPLATES:]}
    parents = [item for item in in_room[-3 * RECENT_PARENTS :] if item.parent is None][-RECENT_PARENTS:]
    parent = parents[parent_pick % len(parents)] if parents and reply_roll < REPLY_SHARE else None
    if parent is not None:
        speakers = [member for member in room.members if member.pk != parent.sender.pk]
        speaker = speakers[speaker_pick % len(speakers)]
        words["other"] = parent.sender.username
        template = _fresh(REPLIES[room.talk], template_pick, recent_templates)
        when = parent.when + timedelta(minutes=reply_after)
    else:
        speaker = room.members[speaker_pick % len(room.members)]
        others = [member for member in room.members if member.pk != speaker.pk]
        words["other"] = others[other_pick % len(others)].username
        template = _fresh(TALK[room.talk], template_pick, recent_templates)
        minute = handover_minute if room.talk == "handover" else minute_of_day
        when = _wall_clock(now, zone, days_back=days_back, minute_of_day=minute)
    planned = Planned(
        room=room, when=when, sender=speaker, content=_fill(template, words), parent=parent, template=template
    )
    if reaction_roll < REACTION_SHARE:
        reactors = [member for member in room.members if member.pk != speaker.pk]
        planned.reactions.append((reactors[reactor_pick % len(reactors)], emoji))
    return planned


class Command(BaseCommand):
    help = (
        "Create the demo chat of every organization: channels, groups and direct conversations with a few days "
        "of messages, threads, reactions and read marks, plus --count generated messages. Idempotent: messages "
        "already there are found again, so a larger --count only adds the missing ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's slug (default: every organization).")
        parser.add_argument(
            "--count", type=int, default=40, help="Generated messages per organization on top of the script."
        )
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data.")

    def handle(self, *args, **options):
        count = options["count"]
        if count < 0:
            raise CommandError("--count must not be negative.")
        organizations = organizations_to_populate(options["organization"])
        self.conversations_created = self.conversations_existing = 0
        now = timezone.now()
        with override_settings(CHAT_RATE_LIMIT=SEEDING_RATE_LIMIT), transaction.atomic():
            rooms, planned = [], []
            for organization in organizations:
                people = self.people_of(organization)
                organization_rooms = self.rooms_of(organization, people)
                rooms += organization_rooms
                planned += self.plan(
                    organization, organization_rooms, people, count=count, seed=options["seed"], now=now
                )
            # One timeline for everything, so ids grow with time across conversations and organizations.
            planned.sort(key=lambda item: (item.when, item.order))
            missing = self.find_existing(planned)
            newest_before = Message.objects.aggregate(newest=Max("created_at"))["newest"]
            self.send(missing)
            self.backdate(missing, newest_before)
            self.react(planned)
            self.read(rooms, planned, seed=options["seed"])
        self.stdout.write(
            self.style.SUCCESS(
                f"populate_chats: {self.conversations_created} conversations and {len(missing)} messages created, "
                f"{self.conversations_existing} conversations and {len(planned) - len(missing)} messages "
                "already there."
            )
        )

    # Conversations

    def people_of(self, organization: Organization) -> dict[str, User]:
        """The organization's active people by username, in username order."""
        members = scoped(User, organization).filter(is_active=True).order_by("username")
        return {person.username: person for person in members}

    def rooms_of(self, organization: Organization, people: dict[str, User]) -> list[Room]:
        rooms = []
        for spec in CHANNELS:
            rooms.append(self.channel(organization, spec, people))
        for spec in GROUPS:
            room = self.group(organization, spec, people)
            if room is not None:
                rooms.append(room)
        for spec in DIRECTS:
            room = self.direct(organization, spec, people)
            if room is not None:
                rooms.append(room)
        return rooms

    def _count(self, created: bool) -> None:
        if created:
            self.conversations_created += 1
        else:
            self.conversations_existing += 1

    def _members(self, conversation: Conversation) -> list[User]:
        return list(
            User.objects.filter(chat_memberships__conversation=conversation, is_active=True).order_by("username")
        )

    def channel(self, organization: Organization, spec: dict, people: dict[str, User]) -> Room:
        if spec["members"] == EVERYONE:
            members = list(people.values())
        else:
            members = [people[username] for username in spec["members"] if username in people]
        self._count(not Conversation.objects.filter(organization=organization, key=spec["key"]).exists())
        conversation = services.get_or_create_channel(
            organization=organization, key=spec["key"], name=spec["name"], topic=spec["topic"], members=members
        )
        return Room(conversation, spec["key"], spec["talk"], spec["weight"], self._members(conversation))

    def group(self, organization: Organization, spec: dict, people: dict[str, User]) -> Room | None:
        owner = people.get(spec["owner"])
        members = [people[username] for username in spec["members"] if username in people]
        if owner is None or not members:
            return None
        # Groups have no key: the demo's is the one of that name its owner started.
        conversation = (
            scoped(Conversation, organization)
            .filter(kind=Conversation.Kind.GROUP, name=spec["name"], created_by=owner)
            .order_by("id")
            .first()
        )
        self._count(conversation is None)
        if conversation is None:
            conversation = services.create_group(actor=owner, name=spec["name"], members=members)
        return Room(conversation, f"group:{spec['name']}", "chatter", GROUP_WEIGHT, self._members(conversation))

    def direct(self, organization: Organization, spec: dict, people: dict[str, User]) -> Room | None:
        first, second = (people.get(username) for username in spec["people"])
        if first is None or second is None:
            return None
        low, high = sorted([first.pk, second.pk])
        self._count(not Conversation.objects.filter(organization=organization, key=f"dm:{low}:{high}").exists())
        conversation = services.get_or_create_direct(user=first, other=second)
        name = "dm:" + ":".join(spec["people"])
        return Room(conversation, name, "chatter", DIRECT_WEIGHT, self._members(conversation))

    # Messages

    def plan(
        self, organization: Organization, rooms: list[Room], people: dict[str, User], *, count: int, seed: int, now
    ) -> list[Planned]:
        """Every message the organization's demo chat has: the script's, then the generated ones."""
        cast = dict(people)
        admin = next((person for person in people.values() if person.role == Role.ADMIN), None)
        if admin is not None:
            cast[ADMIN] = admin
        scripts = {spec["key"]: spec["lines"] for spec in CHANNELS}
        scripts |= {f"group:{spec['name']}": spec["lines"] for spec in GROUPS}
        scripts |= {"dm:" + ":".join(spec["people"]): spec["lines"] for spec in DIRECTS}
        planned = []
        for room in rooms:
            previous = None
            for line in scripts[room.name]:
                top = self.scripted(room, line, cast, floor=previous, now=now, zone=organization.tzinfo)
                if top is None:
                    continue
                previous = top.when
                planned.append(top)
                for reply in line.replies:
                    item = self.scripted(
                        room, reply, cast, floor=top.when, now=now, zone=organization.tzinfo, parent=top
                    )
                    if item is not None:
                        planned.append(item)
        earlier: dict[str, list[Planned]] = defaultdict(list)
        for index in range(count):
            item = generated_message(
                index=index, seed=seed, rooms=rooms, earlier=earlier, now=now, zone=organization.tzinfo
            )
            if item is None:
                break
            earlier[item.room.name].append(item)
            planned.append(item)
        for order, item in enumerate(planned):
            item.order = order
        return planned

    def scripted(
        self, room: Room, line: Line, cast: dict[str, User], *, floor, now, zone, parent: Planned | None = None
    ) -> Planned | None:
        """The line as planned in this organization, or None when its people are not there.

        `cast` maps usernames (and ADMIN) to the organization's people.
        """
        if line.speaker is SYSTEM:
            sender = None
        else:
            sender = cast.get(line.speaker)
            if sender is None or sender.pk not in room.member_ids:
                return None
        # A line that names someone missing here would talk about a stranger; leave it out.
        if not mentioned_usernames(line.text) <= {username.lower() for username in cast}:
            return None
        when = self.resolve(line.when, now=now, zone=zone)
        if floor is not None and when <= floor:
            when = floor + timedelta(seconds=1)
        reactions = [
            (cast[username], emoji)
            for username, emoji in line.reactions
            if username in cast and cast[username].pk in room.member_ids
        ]
        return Planned(room=room, when=when, sender=sender, content=line.text, parent=parent, reactions=reactions)

    def resolve(self, when: tuple, *, now: datetime, zone) -> datetime:
        if when[0] == "ago":
            return now - timedelta(minutes=when[1])
        _, offset, clock = when
        hour, minute = (int(part) for part in clock.split(":"))
        local_day = timezone.localdate(now, timezone=zone) + timedelta(days=offset)
        return datetime.combine(local_day, time(hour, minute), tzinfo=zone)

    def find_existing(self, planned: list[Planned]) -> list[Planned]:
        """Match each planned message to one already there (same sender, text and thread); return the rest.

        `planned` is in time order, so a reply's parent has been matched (or found
        missing, and then so is the reply) before the reply is looked at.
        """
        there: dict[int, dict[tuple, deque[Message]]] = {}
        missing = []
        for item in planned:
            conversation = item.room.conversation
            if conversation.pk not in there:
                by_key = defaultdict(deque)
                for message in conversation.messages.filter(deleted_at__isnull=True).order_by("id"):
                    by_key[(message.sender_id, message.content, message.parent_id)].append(message)
                there[conversation.pk] = by_key
            if item.parent is not None and item.parent.message is None:
                missing.append(item)
                continue
            key = (
                item.sender.pk if item.sender else None,
                item.content,
                item.parent.message.pk if item.parent else None,
            )
            found = there[conversation.pk].get(key)
            if found:
                item.message = found.popleft()
            else:
                missing.append(item)
        return missing

    def progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\r{done}/{total}", ending="")
        self.stdout.flush()

    def send(self, missing: list[Planned]) -> None:
        """Send in time order through the services, so threads, mentions and notifications are the real ones."""
        total = len(missing)
        if not total:
            return
        for done, item in enumerate(missing, start=1):
            parent = item.parent.message if item.parent else None
            if item.sender is None:
                item.message = services.post_system_message(
                    conversation=item.room.conversation, content=item.content, parent=parent
                )
            else:
                item.message = services.send_message(
                    sender=item.sender, conversation=item.room.conversation, content=item.content, parent=parent
                )
            self.progress(done, total)
        self.stdout.write("")

    def backdate(self, sent: list[Planned], newest_before) -> None:
        """Move the messages just sent to their planned times, in one bulk update.

        A message is never moved later than it was sent, nor before one with a
        smaller id (a message already there, or sent earlier in this run), so
        ids still grow with time; a larger --count on a later run therefore puts
        its extra messages after the earlier ones. The conversations' and
        threads' "last" times and the notifications of these messages follow.
        """
        if not sent:
            return
        floor = newest_before
        messages = []
        for item in sent:
            message = item.message
            moved = item.when if floor is None else max(item.when, floor)
            message.created_at = min(message.created_at, moved)
            floor = message.created_at
            messages.append(message)
        Message.objects.bulk_update(messages, ["created_at"], batch_size=500)

        newest_reply = (
            Message.objects.filter(parent=OuterRef("pk"))
            .order_by()
            .values("parent")
            .annotate(newest=Max("created_at"))
            .values("newest")
        )
        parents = {message.parent_id for message in messages if message.parent_id}
        Message.objects.filter(pk__in=parents).update(last_reply_at=Subquery(newest_reply))
        newest_message = (
            Message.objects.filter(conversation=OuterRef("pk"))
            .order_by()
            .values("conversation")
            .annotate(newest=Max("created_at"))
            .values("newest")
        )
        conversations = {message.conversation_id for message in messages}
        Conversation.objects.filter(pk__in=conversations).update(last_message_at=Subquery(newest_message))

        times = {str(message.pk): message.created_at for message in messages}
        notifications = list(
            Notification.objects.filter(
                target_content_type=ContentType.objects.get_for_model(Message), target_object_id__in=list(times)
            )
        )
        for notification in notifications:
            notification.timestamp = times[notification.target_object_id]
        Notification.objects.bulk_update(notifications, ["timestamp"], batch_size=500)

    def react(self, planned: list[Planned]) -> None:
        for item in planned:
            for person, emoji in item.reactions:
                if not Reaction.objects.filter(message=item.message, user=person, emoji=emoji).exists():
                    services.toggle_reaction(user=person, message=item.message, emoji=emoji)

    def read(self, rooms: list[Room], planned: list[Planned], *, seed: int) -> None:
        """Mark each member's reading: most have read nearly everything, some are a few messages behind."""
        ids_by_room: dict[int, list[int]] = defaultdict(list)
        for item in planned:
            ids_by_room[item.room.conversation.pk].append(item.message.pk)
        for room in rooms:
            ids = sorted(ids_by_room[room.conversation.pk])
            for member in room.members:
                rng = random.Random(f"populate_chats:{seed}:read:{room.name}:{member.username}")
                behind = rng.choice(UNREAD_BEHIND)
                if behind < len(ids):
                    services.mark_read(user=member, conversation=room.conversation, up_to=ids[-1 - behind])
