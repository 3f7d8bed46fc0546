"""The home page, "My work": the one page that gathers every app's view of the user.

Like urls.py and api.py this module is a composition root, so it may import the
apps above `nexus`; no app imports it.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts import selectors as accounts_selectors
from activities import selectors as activity_selectors
from nexus.permissions import Action, can
from projects import selectors as project_selectors

LIVE_SECTIONS = ("my-activities", "unclaimed")


@login_required
def home(request):
    user = request.user
    may_claim = can(user, Action.CLAIM_MAINTENANCE)
    # A live refresh asks for one section; render (and query) only that one.
    section = request.htmx.target if request.htmx and request.htmx.target in LIVE_SECTIONS else None
    context = {}
    if section in (None, "my-activities"):
        context["my_activities"] = activity_selectors.open_activities_of(user=user)
    if section in (None, "unclaimed"):
        context["unclaimed"] = activity_selectors.unclaimed_maintenance_for(user=user) if may_claim else None
    if section is None:
        context["my_projects"] = project_selectors.projects_of_member(user=user)
        context["member_count"] = accounts_selectors.members_of(organization=request.organization).count()
    return render(request, f"home.html#{section}" if section else "home.html", context)
