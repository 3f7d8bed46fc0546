"""The main navigation, shared by every page.

An entry appears once its app serves the named page, so the bar never links to
a screen that does not exist yet; `action` hides entries a role cannot use.
"""

import functools

from django.urls import NoReverseMatch, reverse

from nexus.permissions import Action, can

# The page keeps a live count in an entry's badge: its id here, filled over the socket.
BADGES = {"chat:index": "chat-unread"}

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


@functools.cache
def _path(url_name: str) -> str | None:
    """The entry's path, or None while its app serves no such page. Paths do not change while a process runs."""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def navigation_for(request) -> list[dict]:
    items = []
    for label, url_name, action in MAIN_NAVIGATION:
        if action is not None and not can(request.user, action):
            continue
        url = _path(url_name)
        if url is not None:
            items.append(
                {"label": label, "url": url, "active": request.path.startswith(url), "badge": BADGES.get(url_name)}
            )
    return items
