from django.core.management import call_command
from django.core.management.base import BaseCommand

from accounts.management.commands.populate_users import DEMO_PASSWORD, PEOPLE

# Each later feature adds its populate_* command here, in dependency order.
POPULATE_COMMANDS = [
    "populate_users",
    "populate_tags",
    "populate_activities",
    "populate_projects",
    "populate_chats",
    "populate_system_messages",
    "populate_updates",
    "populate_machines",
]


class Command(BaseCommand):
    help = "Load all demo data by running every populate_* command in order. Idempotent and deterministic."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data.")

    def handle(self, *args, **options):
        total = len(POPULATE_COMMANDS)
        for number, name in enumerate(POPULATE_COMMANDS, start=1):
            self.stdout.write(f"[{number}/{total}] {name}")
            call_command(name, seed=options["seed"], stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Log in with any of these (password: {DEMO_PASSWORD}):"))
        for slug, username, _first, _last, role, _department, _position in PEOPLE:
            self.stdout.write(f"  {username:<8} {role.label:<14} {slug}")
