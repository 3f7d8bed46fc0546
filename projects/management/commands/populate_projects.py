from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization, User
from activities.models import Activity, ActivityType
from nexus.tenancy import scoped
from projects import services
from projects.models import Project, ProjectStatus

ORGANIZATION = "acme"
MANAGER = "maria"

# Dates are days from today in the factory; activities are taken by type, oldest first,
# each activity in at most one demo project.
PROJECTS = [
    {
        "name": "Line 2 retrofit",
        "description": "Replace the conveyor and light curtains of Line 2 and bring its PLC program up to date, "
        "without losing more than one weekend of production.",
        "status": ProjectStatus.ACTIVE,
        "starts_in": -21,
        "lasts": 90,
        "team": ["tom", "tina", "sam"],
        "activities": [(ActivityType.PROJECTS, 3), (ActivityType.ENGINEERING, 3), (ActivityType.MAINTENANCE, 2)],
    },
    {
        "name": "ISO 9001 recertification",
        "description": "Close the findings of the last audit, refresh the quality records and pass the "
        "recertification audit.",
        "status": ProjectStatus.ACTIVE,
        "starts_in": -45,
        "lasts": 75,
        "team": ["sue", "sam"],
        "activities": [(ActivityType.QUALITY, 3), (ActivityType.INSPECTION, 3), (ActivityType.ADMIN, 1)],
    },
    {
        "name": "Energy savings programme",
        "description": "Meter the big consumers, fix compressed-air leaks and cut the plant's energy use by 10%.",
        "status": ProjectStatus.PLANNING,
        "starts_in": 7,
        "lasts": 180,
        "team": ["tina", "sue"],
        "activities": [(ActivityType.PROJECTS, 2), (ActivityType.ENGINEERING, 2)],
    },
    {
        "name": "Operator skills matrix",
        "description": "Train every operator on two more machines so each line can be staffed from any shift.",
        "status": ProjectStatus.ON_HOLD,
        "starts_in": -10,
        "lasts": 60,
        "team": ["sam", "sue", "tom"],
        "activities": [(ActivityType.TRAINING, 4), (ActivityType.MEETINGS, 1)],
    },
]


class Command(BaseCommand):
    help = "Create the demo projects of Acme Manufacturing and link their activities. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Accepted for symmetry; this data is fixed.")

    @transaction.atomic
    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=ORGANIZATION).first()
        manager = User.objects.filter(organization=organization, username=MANAGER).first()
        if organization is None or manager is None:
            raise CommandError(
                f"Run populate_users first: the organization {ORGANIZATION!r} and {MANAGER} are missing."
            )
        people = {user.username: user for user in scoped(User, organization)}
        today = timezone.localdate(timezone=organization.tzinfo)
        taken = set(
            Project.activities.through.objects.filter(project__organization=organization).values_list(
                "activity_id", flat=True
            )
        )
        created = 0
        for spec in PROJECTS:
            if Project.objects.filter(organization=organization, name=spec["name"]).exists():
                continue
            activities = []
            for activity_type, count in spec["activities"]:
                chosen = list(
                    scoped(Activity, organization)
                    .filter(type=activity_type)
                    .exclude(pk__in=taken)
                    .order_by("id")[:count]
                )
                taken.update(activity.pk for activity in chosen)
                activities += chosen
            start = today + timedelta(days=spec["starts_in"])
            project = services.create_project(
                actor=manager,
                name=spec["name"],
                description=spec["description"],
                status=spec["status"],
                start_date=start,
                end_date=start + timedelta(days=spec["lasts"]),
                manager=manager,
                team_members=[people[username] for username in spec["team"] if username in people],
                activities=activities,
            )
            created += 1
            self.stdout.write(f"  created project {project.name} ({len(activities)} activities)")
        existing = len(PROJECTS) - created
        self.stdout.write(
            self.style.SUCCESS(f"populate_projects: {created} projects created, {existing} already there.")
        )
