from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.selectors import organizations_to_populate
from activities import services
from activities.models import Tag
from nexus.tenancy import scoped

# (name, description, colour, category). The first five are the seed's SAMPLE_TAGS.
TAGS = [
    ("Kaizen", "Continuous improvement initiative", "#10B981", "Improvement"),
    ("RCA", "Root cause analysis required", "#EF4444", "Problem solving"),
    ("CAPA", "Corrective/preventive action", "#F97316", "Problem solving"),
    ("Blocked", "Activity is waiting on input or dependency", "#6B7280", "Workflow"),
    ("Recurring", "Happens regularly (daily, weekly, etc.)", "#3B82F6", "Workflow"),
    ("Safety", "Affects people's safety; lock out and tag out first", "#DC2626", "Safety"),
    ("5S", "Sort, set in order, shine, standardize, sustain", "#84CC16", "Improvement"),
    ("Electrical", "Drives, sensors, cabinets and wiring", "#EAB308", "Discipline"),
    ("Mechanical", "Bearings, belts, gearboxes and fixtures", "#64748B", "Discipline"),
    ("Hydraulics", "Pumps, valves, hoses and oil", "#0EA5E9", "Discipline"),
    ("Lubrication", "Greasing and oil changes per the lubrication plan", "#A16207", "Discipline"),
    ("Calibration", "Gauges and instruments checked against a reference", "#8B5CF6", "Quality"),
    ("Changeover", "Product or tool change on a line (SMED)", "#14B8A6", "Production"),
    ("Downtime", "The line or machine is stopped", "#B91C1C", "Production"),
    ("Spare parts", "Needs parts ordered or taken from stores", "#D97706", "Logistics"),
    ("Customer complaint", "Raised by or for a customer", "#DB2777", "Quality"),
    ("Preventive", "Planned maintenance before a failure", "#059669", "Maintenance"),
    ("Audit", "Part of an internal or external audit", "#4F46E5", "Quality"),
    ("Training", "Teaches or certifies people", "#0891B2", "People"),
    ("Energy", "Saves or measures energy, air or water", "#65A30D", "Improvement"),
]


class Command(BaseCommand):
    help = "Create the demo tags (the seed's five and common factory ones) in every organization. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--organization", help="Only this organization's slug (default: every organization).")
        parser.add_argument("--seed", type=int, default=1, help="Accepted for symmetry; this data is fixed.")

    @transaction.atomic
    def handle(self, *args, **options):
        organizations = organizations_to_populate(options["organization"])
        created = existing = 0
        for organization in organizations:
            taken = {name.lower() for name in scoped(Tag, organization).values_list("name", flat=True)}
            for name, description, color, category in TAGS:
                if name.lower() in taken:
                    existing += 1
                    continue
                services.create_tag(
                    actor=None,
                    organization=organization,
                    name=name,
                    description=description,
                    color=color,
                    category=category,
                )
                created += 1
        self.stdout.write(self.style.SUCCESS(f"populate_tags: {created} tags created, {existing} already there."))
