import zoneinfo
from datetime import timedelta

from django import forms
from django.conf import settings

from accounts.models import Organization
from nexus.permissions import Role

TIME_ZONE_CHOICES = [(tz, tz) for tz in sorted(zoneinfo.available_timezones())]


class OrganizationSignupForm(forms.Form):
    """Extra fields allauth adds to its sign-up form (ACCOUNT_SIGNUP_FORM_CLASS)."""

    organization_name = forms.CharField(
        max_length=200, label="Organization", help_text="Your factory or company; you become its admin."
    )
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC", label="Time zone")

    def signup(self, request, user):
        # The adapter's save_user creates the organization; nothing more to do here.
        pass


class ProfileForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    phone = forms.CharField(max_length=20, required=False)
    department = forms.CharField(max_length=100, required=False)
    position = forms.CharField(max_length=100, required=False)
    avatar = forms.FileField(
        required=False,
        help_text=f"JPEG, PNG, GIF or WebP, at most {settings.NEXUS_AVATAR_MAX_BYTES // 1024} KB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/gif,image/webp"}),
    )
    remove_avatar = forms.BooleanField(required=False, label="Remove my picture")


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “MES integration”.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Expires in (days)", help_text="Empty: never."
    )


class InvitationForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)


class AcceptInvitationForm(forms.Form):
    username = forms.CharField(max_length=150)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    password = forms.CharField(widget=forms.PasswordInput, min_length=8)
    password_again = forms.CharField(widget=forms.PasswordInput, label="Password (again)")

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class OrganizationForm(forms.ModelForm):
    escalation_minutes = forms.IntegerField(
        min_value=1,
        max_value=24 * 60,
        label="Escalation delay (minutes)",
        help_text="Unclaimed incidents are escalated to managers after this long.",
    )
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)

    class Meta:
        model = Organization
        fields = ["name", "corporate_id", "contact_email", "time_zone"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.pk:
            self.fields["escalation_minutes"].initial = int(self.instance.escalation_delay.total_seconds() // 60)

    def service_fields(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["escalation_delay"] = timedelta(minutes=self.cleaned_data["escalation_minutes"])
        return data
