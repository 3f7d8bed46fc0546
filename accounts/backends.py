"""Authentication backends that load the user with what every page shows of them.

Each request reads the logged-in user once; with the organization (tenancy, the
header) and the profile (the avatar) joined in, that is one query instead of three.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend

from accounts.models import User


class _LoadsUserWithRelations:
    def get_user(self, user_id):
        user = User._default_manager.select_related("organization", "profile").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None


class ModelBackend(_LoadsUserWithRelations, DjangoModelBackend):
    """Username and password, as Django's."""


class AuthenticationBackend(_LoadsUserWithRelations, AllauthBackend):
    """Username or e-mail and password, as allauth's."""
