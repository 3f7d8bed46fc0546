"""The main navigation, shared by every page.

An entry appears once its app serves the named page, so the bar never links to
a screen that does not exist yet; `action` hides entries a role cannot use.
"""

from django.urls import NoReverseMatch, reverse

from nexus.permissions import Action, can

MAIN_NAVIGATION = [
    ("Activities", "activities:list", None),
    ("Projects", "projects:list", None),
    ("Updates", "updates:feed", None),
    ("Chat", "chat:index", None),
    ("Machines", "machines:list", None),
    ("Reports", "reports:index", Action.VIEW_REPORTS),
    ("People", "people", None),
    ("Admin", "manage", Action.MANAGE_ORGANIZATION),
]


def navigation_for(request) -> list[dict]:
    items = []
    for label, url_name, action in MAIN_NAVIGATION:
        if action is not None and not can(request.user, action):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append({"label": label, "url": url, "active": request.path.startswith(url)})
    return items
