from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    """Sign-up creates a new organization with the new person as its admin.

    People join an existing organization only through an invitation, which
    works even when public sign-up is switched off (NEXUS_OPEN_SIGNUP=0).
    """

    def is_open_for_signup(self, request) -> bool:
        return settings.NEXUS_OPEN_SIGNUP

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=False)
        if commit:
            services.register_organization(
                user=user,
                organization_name=form.cleaned_data["organization_name"],
                time_zone=form.cleaned_data.get("time_zone") or "UTC",
            )
        return user
