import random
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from activities import services
from activities.models import (
    Activity,
    ActivityComment,
    ActivityPriority,
    ActivityStatus,
    ActivityType,
    Priority,
    Status,
    Tag,
)
from nexus.permissions import Role
from nexus.tenancy import scoped

# The seed's SAMPLE_ACTIVITIES, with their dates relative to the anchor (today 08:00 in the factory):
# the line setup is tomorrow 08:00-16:00, the maintenance today 14:00-18:00, as the day before in the seed.
SAMPLE_ACTIVITIES = [
    {
        "title": "Production Line Setup",
        "type": ActivityType.PRODUCTION,
        "status": Status.PLANNED,
        "priority": Priority.HIGH,
        "description": "Setup production line for new product launch",
        "starts_after": timedelta(days=1),
        "lasts": timedelta(hours=8),
        "assignee": "sam",
    },
    {
        "title": "Equipment Maintenance",
        "type": ActivityType.MAINTENANCE,
        "status": Status.IN_PROGRESS,
        "priority": Priority.MEDIUM,
        "description": "Routine maintenance on production equipment",
        "starts_after": timedelta(hours=6),
        "lasts": timedelta(hours=4),
        "assignee": "tom",
    },
]

MACHINES = [
    "CNC mill M-101",
    "CNC lathe L-204",
    "press P-300",
    "robot welder W-12",
    "injection molder IM-7",
    "packaging line PK-2",
    "paint booth PB-1",
    "compressor C-3",
    "conveyor CV-5",
    "laser cutter LC-9",
]
LINES = ["Line 1", "Line 2", "Line 3", "assembly line A", "the press line"]
AREAS = ["the warehouse", "assembly", "the press shop", "the paint shop", "the tool room", "shipping"]
PRODUCTS = ["bracket BR-200", "housing H-14", "gear G-36", "shaft S-8", "panel P-5", "valve body V-2"]
SUPPLIERS = ["Steelco", "Boltworks", "Polymer AG", "Fastenal North"]

TITLES = {
    ActivityType.PRODUCTION: [
        "Run {product} batch on {line}",
        "Changeover {line} to {product}",
        "First-article run of {product}",
        "Ramp up {line} to full rate",
        "Trial run of {product} on {line}",
    ],
    ActivityType.MAINTENANCE: [
        "Replace bearings on {machine}",
        "Fix hydraulic leak on {machine}",
        "Lubricate {machine} per plan",
        "Inspect drive belt of {machine}",
        "Repair coolant pump on {machine}",
        "Replace worn tooling on {machine}",
        "Reset tripped drive on {machine}",
        "Clean filters of {machine}",
    ],
    ActivityType.INSPECTION: [
        "Layered process audit on {line}",
        "Safety walk in {area}",
        "5S audit of {area}",
        "Check fire extinguishers in {area}",
        "Calibrate gauges at {machine}",
    ],
    ActivityType.ENGINEERING: [
        "Update work instruction for {product}",
        "Design a fixture for {product}",
        "Reduce cycle time on {machine}",
        "Review the PLC program of {machine}",
        "Validate new tooling for {product}",
    ],
    ActivityType.LOGISTICS: [
        "Receive steel coil delivery from {supplier}",
        "Stage {product} kits for {line}",
        "Count spare parts in {area}",
        "Ship {product} order",
        "Reorganize pallet racks in {area}",
    ],
    ActivityType.QUALITY: [
        "Investigate burrs on {product}",
        "Contain suspect lot of {product}",
        "SPC review for {machine}",
        "Customer complaint: scratches on {product}",
        "Capability study of {machine}",
    ],
    ActivityType.MEETINGS: [
        "Shift handover in {area}",
        "Weekly OEE review of {line}",
        "Tier 2 meeting for {area}",
        "Kaizen kickoff for {line}",
        "Supplier review with {supplier}",
    ],
    ActivityType.PROJECTS: [
        "Install a new conveyor on {line}",
        "Energy metering for {area}",
        "Move {machine} to {area}",
        "Retrofit light curtains on {line}",
    ],
    ActivityType.TRAINING: [
        "Forklift refresher for {area}",
        "Lockout/tagout training for {area}",
        "Train operators on {machine}",
        "First aid course for {area}",
        "SMED workshop on {line}",
    ],
    ActivityType.ADMIN: [
        "Back up the PLC programs of {line}",
        "Renew CMMS licences",
        "Update the shift roster for {area}",
        "Patch the HMI panels on {line}",
        "Archive quality records of {product}",
    ],
}
REASONS = [
    "Raised at the morning shift meeting.",
    "Requested by the production manager.",
    "Found during the last audit.",
    "Part of the monthly plan.",
    "Operators reported it twice this week.",
    "Needed before the customer visit.",
    "Follow-up of the last downtime review.",
]
DETAILS = [
    "Check the procedure before starting and record what was done.",
    "Coordinate with the shift lead so the line is free.",
    "Take photos before and after.",
    "Order the parts from stores first if they are missing.",
    "Report anything unusual in the thread.",
    "",
]

# Who usually does each type of work, by the demo usernames of populate_users.
WORKERS = {
    ActivityType.PRODUCTION: ["sam", "tom"],
    ActivityType.MAINTENANCE: ["tom", "tina"],
    ActivityType.INSPECTION: ["sue", "tina"],
    ActivityType.ENGINEERING: ["tina", "maria"],
    ActivityType.LOGISTICS: ["sam", "sue"],
    ActivityType.QUALITY: ["sue"],
    ActivityType.MEETINGS: ["maria"],
    ActivityType.PROJECTS: ["maria", "tina"],
    ActivityType.TRAINING: ["sue", "sam"],
    ActivityType.ADMIN: ["alice"],
}
# Tags (of populate_tags) that fit each type of work; others are used when none of these exist.
TYPE_TAGS = {
    ActivityType.PRODUCTION: ["Changeover", "Downtime", "Kaizen", "Recurring", "Blocked"],
    ActivityType.MAINTENANCE: [
        "Mechanical",
        "Electrical",
        "Hydraulics",
        "Lubrication",
        "Preventive",
        "Spare parts",
        "Safety",
        "Downtime",
        "RCA",
    ],
    ActivityType.INSPECTION: ["Audit", "Safety", "5S", "Calibration", "Recurring"],
    ActivityType.ENGINEERING: ["Kaizen", "CAPA", "RCA", "Changeover", "Energy"],
    ActivityType.LOGISTICS: ["Spare parts", "Blocked", "5S"],
    ActivityType.QUALITY: ["RCA", "CAPA", "Customer complaint", "Calibration", "Audit"],
    ActivityType.MEETINGS: ["Recurring", "Kaizen"],
    ActivityType.PROJECTS: ["Kaizen", "Energy", "Safety", "Blocked"],
    ActivityType.TRAINING: ["Training", "Safety", "5S"],
    ActivityType.ADMIN: ["Recurring", "Blocked"],
}
CREATOR = "maria"
TYPES = list(ActivityType)
# A cycle of seven against the ten types, so 70 activities cover every type in every status.
STATUS_CYCLE = [
    Status.PLANNED,
    Status.IN_PROGRESS,
    Status.COMPLETED,
    Status.PLANNED,
    Status.OVERDUE,
    Status.IN_PROGRESS,
    Status.CANCELLED,
]
PRIORITIES = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]
PRIORITY_WEIGHTS = [20, 45, 25, 10]
TAG_COUNTS = [0, 0, 1, 1, 1, 2, 2, 3]

BULK_THRESHOLD = 2000
BATCH_SIZE = 2000


def generated_title(template: str, rng: random.Random, number: int) -> str:
    words = {
        "machine": rng.choice(MACHINES),
        "line": rng.choice(LINES),
        "area": rng.choice(AREAS),
        "product": rng.choice(PRODUCTS),
        "supplier": rng.choice(SUPPLIERS),
    }
    title = template.format(**words)
    return f"{title[0].upper()}{title[1:]} #{number:04d}"


def generated_activity(*, index: int, seed: int, anchor: datetime, people: dict, tags: list[Tag]) -> dict:
    """The fields of generated activity number `index + 1`.

    Each activity has its own random stream, so it is the same whatever --count
    is, and a larger count only appends.
    """
    rng = random.Random(f"populate_activities:{seed}:{index}")
    activity_type = TYPES[index % len(TYPES)]
    status = STATUS_CYCLE[index % len(STATUS_CYCLE)]
    title = generated_title(rng.choice(TITLES[activity_type]), rng, index + 1)
    description = " ".join(part for part in (rng.choice(REASONS), rng.choice(DETAILS)) if part)
    priority = rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0]

    if activity_type == ActivityType.PROJECTS:
        lasts = timedelta(days=rng.randint(3, 20))
    else:
        lasts = timedelta(hours=rng.randint(1, 8))
    hour = timedelta(hours=rng.randint(0, 8))
    if status == Status.PLANNED:
        start = anchor + timedelta(days=rng.randint(1, 14)) + hour
    elif status == Status.IN_PROGRESS:
        start = anchor - timedelta(days=rng.randint(0, 3)) - hour
        lasts = max(lasts, anchor + timedelta(days=rng.randint(1, 5)) - start)
    elif status == Status.OVERDUE:
        start = anchor - timedelta(days=rng.randint(3, 14)) - hour
        lasts = min(lasts, anchor - timedelta(days=1) - start)
    elif status == Status.COMPLETED:
        start = anchor - timedelta(days=rng.randint(2, 30)) - hour
        lasts = min(lasts, anchor - timedelta(days=1) - start)
    else:  # Cancelled: some were in the past, some would have been ahead.
        start = anchor + timedelta(days=rng.randint(-20, 10)) + hour

    # Planned and overdue maintenance often waits in the pool for a technician to claim it.
    claimable = activity_type == ActivityType.MAINTENANCE and status in (Status.PLANNED, Status.OVERDUE)
    # Draw the same numbers whoever is there, so the rest of the activity does not depend on the people.
    unassigned = rng.random() < (0.6 if claimable else 0.1)
    pick = rng.randrange(1000)
    candidates = [people[name] for name in WORKERS[activity_type] if name in people]
    assignee = candidates[pick % len(candidates)] if candidates else None
    if status == Status.IN_PROGRESS and assignee is None:
        assignee = next(iter(people.values()), None)
    if unassigned and status != Status.IN_PROGRESS:
        assignee = None

    fitting = [tag for tag in tags if tag.name in TYPE_TAGS[activity_type]] or tags
    chosen_tags = rng.sample(fitting, min(rng.choice(TAG_COUNTS), len(fitting)))
    return {
        "title": title,
        "type": activity_type,
        "status": status,
        "priority": priority,
        "description": description,
        "start_time": start,
        "end_time": start + lasts,
        "assigned_to": assignee,
        "tags": sorted(chosen_tags, key=lambda tag: tag.name),
    }


def _without(fields: dict, *names: str) -> dict:
    return {key: value for key, value in fields.items() if key not in names}


def _first_entries(activity: Activity, creator: User) -> list[ActivityComment]:
    """The thread entries `services.create_activity` starts a thread with."""
    entries = [
        ActivityComment(
            organization_id=activity.organization_id,
            activity=activity,
            kind=ActivityComment.Kind.CREATED,
            author=creator,
        )
    ]
    if activity.assigned_to is not None:
        assignee = activity.assigned_to
        entries.append(
            ActivityComment(
                organization_id=activity.organization_id,
                activity=activity,
                kind=ActivityComment.Kind.ASSIGNED,
                author=creator,
                data={"to": assignee.pk, "to_name": assignee.display_name},
            )
        )
    return entries


class Command(BaseCommand):
    help = (
        "Create the seed's sample activities and --count generated ones in the demo organization. "
        "Idempotent: titles already there are skipped, so a larger --count only adds the missing ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", default="acme", help="The organization's slug (default: acme).")
        parser.add_argument("--count", type=int, default=60, help="How many generated activities (default: 60).")
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data.")
        parser.add_argument(
            "--anchor-date",
            type=date.fromisoformat,
            help="The day dates are relative to, YYYY-MM-DD (default: today in the organization's time zone).",
        )

    def handle(self, *args, **options):
        count = options["count"]
        if count < 0:
            raise CommandError("--count must not be negative.")
        organization = Organization.objects.filter(slug=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}; run populate_users first.")
        people = self.people_of(organization)
        creator = people.get(CREATOR) or self.fallback_creator(organization)
        day = options["anchor_date"] or timezone.localdate(timezone=organization.tzinfo)
        if isinstance(day, str):  # call_command(anchor_date="...") skips the parser's conversion.
            day = date.fromisoformat(day)
        anchor = datetime.combine(day, time(8), tzinfo=organization.tzinfo)
        tags = list(scoped(Tag, organization).order_by("name"))
        taken = set(scoped(Activity, organization).values_list("title", flat=True))

        samples = [self.sample(spec, anchor, people) for spec in SAMPLE_ACTIVITIES]
        generated = [
            generated_activity(index=index, seed=options["seed"], anchor=anchor, people=people, tags=tags)
            for index in range(count)
        ]
        missing_samples = [fields for fields in samples if fields["title"] not in taken]
        missing_generated = [fields for fields in generated if fields["title"] not in taken]
        if count > BULK_THRESHOLD:
            self.create_through_services(organization, creator, missing_samples)
            self.bulk_create(organization, creator, missing_generated)
        else:
            self.create_through_services(organization, creator, missing_samples + missing_generated)
        created = len(missing_samples) + len(missing_generated)
        existing = len(samples) + len(generated) - created
        self.stdout.write(
            self.style.SUCCESS(f"populate_activities: {created} activities created, {existing} already there.")
        )

    def people_of(self, organization) -> dict[str, User]:
        usernames = {CREATOR, *(name for names in WORKERS.values() for name in names)}
        members = scoped(User, organization).filter(username__in=usernames, is_active=True).order_by("username")
        return {member.username: member for member in members}

    def fallback_creator(self, organization) -> User:
        creator = (
            scoped(User, organization)
            .filter(is_active=True, role__in=[Role.MANAGER, Role.ADMIN])
            .order_by("role", "username")
            .first()
        )
        if creator is None:
            raise CommandError(f"{organization.name} has no active manager or admin to create activities.")
        return creator

    def sample(self, spec: dict, anchor: datetime, people: dict) -> dict:
        start = anchor + spec["starts_after"]
        return {
            **_without(spec, "starts_after", "lasts", "assignee"),
            "start_time": start,
            "end_time": start + spec["lasts"],
            "assigned_to": people.get(spec["assignee"]),
            "tags": [],
        }

    def progress(self, done: int, total: int) -> None:
        self.stdout.write(f"\r{done}/{total}", ending="")
        self.stdout.flush()

    def create_through_services(self, organization, creator, missing: list[dict]) -> None:
        """Each activity through the service, so its history, thread and live update are the real ones."""
        total = len(missing)
        if not total:
            return
        for done, fields in enumerate(missing, start=1):
            services.create_activity(organization=organization, actor=creator, notify_people=False, **fields)
            self.progress(done, total)
        self.stdout.write("")

    def bulk_create(self, organization, creator, missing: list[dict]) -> None:
        """Batched inserts for large counts: the rows `create_activity` writes, without the per-row work.

        Each batch is one transaction holding the activities, their tags, the first
        status and priority history rows, and the thread's "created" (and "assigned")
        entries, so an interrupted run leaves whole activities and the next run adds the rest.
        """
        total = len(missing)
        if not total:
            return
        for start in range(0, total, BATCH_SIZE):
            batch = missing[start : start + BATCH_SIZE]
            with transaction.atomic():
                activities = Activity.objects.bulk_create(
                    [
                        Activity(organization=organization, created_by=creator, **_without(fields, "tags"))
                        for fields in batch
                    ]
                )
                Activity.tags.through.objects.bulk_create(
                    [
                        Activity.tags.through(activity_id=activity.pk, tag_id=tag.pk)
                        for activity, fields in zip(activities, batch, strict=True)
                        for tag in fields["tags"]
                    ]
                )
                ActivityStatus.objects.bulk_create(
                    ActivityStatus(
                        organization=organization,
                        activity=activity,
                        status=activity.status,
                        changed_by=creator,
                        notes="Created",
                    )
                    for activity in activities
                )
                ActivityPriority.objects.bulk_create(
                    ActivityPriority(
                        organization=organization,
                        activity=activity,
                        priority=activity.priority,
                        changed_by=creator,
                        reason="Created",
                    )
                    for activity in activities
                )
                ActivityComment.objects.bulk_create(
                    entry for activity in activities for entry in _first_entries(activity, creator)
                )
            self.progress(min(start + BATCH_SIZE, total), total)
        self.stdout.write("")
