from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.selectors import members_of
from activities.models import Activity
from nexus.dates import absolute_text
from nexus.tenancy import scoped
from projects.models import Project, ProjectStatus


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _activity_label(activity: Activity) -> str:
    # An <option> holds text only, so the day is written out in full (in the organization's zone).
    day = absolute_text(timezone.localdate(activity.start_time))
    return f"{activity.title} · {activity.type} · {activity.get_status_display()} · {day}"


class ProjectForm(forms.ModelForm):
    """A project's fields, with people and activities limited to the organization."""

    class Meta:
        model = Project
        fields = ["name", "description", "status", "start_date", "end_date", "manager", "team_members", "activities"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "start_date": DateInput(),
            "end_date": DateInput(),
            "team_members": forms.CheckboxSelectMultiple(),
            "activities": forms.SelectMultiple(attrs={"size": 10}),
        }
        labels = {"team_members": "Team"}
        help_texts = {
            "team_members": "They are notified when added.",
            "activities": "Hold Ctrl (⌘ on a Mac) to choose several. Newest first.",
        }

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        members = members_of(organization=organization)
        self.fields["manager"].queryset = members
        self.fields["manager"].label_from_instance = lambda user: f"{user.display_name} ({user.get_role_display()})"
        team = members
        if self.instance.pk:
            # Someone deactivated since joining stays listed, so saving does not drop them unasked.
            team = members_of(organization=organization, include_inactive=True).filter(
                Q(is_active=True) | Q(pk__in=self.instance.team_members.values("pk"))
            )
        self.fields["team_members"].queryset = team
        self.fields["team_members"].label_from_instance = lambda user: user.display_name
        self.fields["activities"].queryset = scoped(Activity, organization).order_by("-created_at", "-id")
        self.fields["activities"].label_from_instance = _activity_label

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            self.add_error("end_date", "The end date must not be before the start date.")
        return data

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class ProjectFilterForm(forms.Form):
    """The list's filters; an empty value means "any"."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ProjectStatus.choices])
