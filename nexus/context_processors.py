from django.conf import settings

from nexus.navigation import navigation_for
from nexus.permissions import actions_for


def nexus(request):
    """Values every page needs: site name, organization, navigation and permissions."""
    user = getattr(request, "user", None)
    authenticated = user is not None and user.is_authenticated
    return {
        "SITE_NAME": settings.SITE_NAME,
        "NEXUS_OPEN_SIGNUP": settings.NEXUS_OPEN_SIGNUP,
        # Set when the socket is served on a port of its own (manage.py serve): nexus.js connects there.
        "NEXUS_SOCKET_PORT": settings.NEXUS_SOCKET_PORT,
        "organization": getattr(request, "organization", None),
        "navigation": navigation_for(request) if authenticated else [],
        "perms_nexus": {action.value for action in actions_for(user)} if authenticated else set(),
    }
