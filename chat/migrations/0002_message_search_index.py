"""Full-text search over message content on PostgreSQL (a GIN index over the same expression the search uses)."""

from django.db import migrations

from chat.models import SEARCH_CONFIG


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS idx_message_search ON chat_message "
            f"USING gin (to_tsvector('{SEARCH_CONFIG}', content))"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS idx_message_search")


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index)]
