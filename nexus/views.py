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


@login_required
def home(request):
    user = request.user
    unclaimed = activity_selectors.unclaimed_maintenance_for(user=user) if can(user, Action.CLAIM_MAINTENANCE) else None
    return render(
        request,
        "home.html",
        {
            "my_activities": activity_selectors.open_activities_of(user=user),
            "unclaimed": unclaimed,
            "my_projects": project_selectors.projects_of_member(user=user),
            "member_count": accounts_selectors.members_of(organization=request.organization).count(),
        },
    )
