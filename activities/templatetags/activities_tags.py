"""Labels for the codes stored in thread entries (e.g. {"from": "planned", "to": "in-progress"})."""

from django import template

from activities.models import Priority, Status

register = template.Library()


@register.filter
def status_label(code: str) -> str:
    return Status(code).label if code in Status.values else code


@register.filter
def priority_label(code: str) -> str:
    return Priority(code).label if code in Priority.values else code
