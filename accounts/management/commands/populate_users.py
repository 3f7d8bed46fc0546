from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import Organization, User
from nexus.permissions import Role

DEMO_PASSWORD = "nexus-demo"  # noqa: S105 -- the documented demo password

ORGANIZATIONS = [
    {
        "slug": "acme",
        "name": "Acme Manufacturing",
        "corporate_id": "ACME-001",
        "contact_email": "ops@acme.example",
        "subscription_tier": Organization.Tier.PROFESSIONAL,
        "time_zone": "Europe/Berlin",
    },
    {
        "slug": "globex",
        "name": "Globex",
        "corporate_id": "GLBX-042",
        "contact_email": "it@globex.example",
        "subscription_tier": Organization.Tier.FREE,
        "time_zone": "America/Chicago",
    },
]

PEOPLE = [
    ("acme", "alice", "Alice", "Admin", Role.ADMIN, "Plant IT", "Systems administrator"),
    ("acme", "maria", "Maria", "Manager", Role.MANAGER, "Production", "Production manager"),
    ("acme", "tom", "Tom", "Technician", Role.TECHNICIAN, "Maintenance", "Maintenance technician"),
    ("acme", "tina", "Tina", "Technician", Role.TECHNICIAN, "Maintenance", "Electrical technician"),
    ("acme", "sam", "Sam", "Staff", Role.STAFF, "Assembly", "Line operator"),
    ("acme", "sue", "Sue", "Staff", Role.STAFF, "Quality", "Quality inspector"),
    ("globex", "mallory", "Mallory", "Admin", Role.ADMIN, "Operations", "Operations lead"),
]


class Command(BaseCommand):
    help = "Create the demo organizations (Acme Manufacturing, Globex) and their people. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Accepted for symmetry; this data is fixed.")

    @transaction.atomic
    def handle(self, *args, **options):
        organizations = {}
        for spec in ORGANIZATIONS:
            organization = Organization.objects.filter(slug=spec["slug"]).first()
            if organization is None:
                organization = services.create_organization(**spec)
                self.stdout.write(f"  created organization {organization.name}")
            organizations[spec["slug"]] = organization
        created = 0
        for slug, username, first, last, role, department, position in PEOPLE:
            if User.objects.filter(username=username).exists():
                continue
            services.create_member(
                organization=organizations[slug],
                username=username,
                email=f"{username}@{slug}.example",
                password=DEMO_PASSWORD,
                role=role,
                first_name=first,
                last_name=last,
                department=department,
                position=position,
                phone=f"+49 30 5550{len(username)}{ord(username[0]) % 10}",
            )
            created += 1
        existing = len(PEOPLE) - created
        self.stdout.write(self.style.SUCCESS(f"populate_users: {created} people created, {existing} already there."))
