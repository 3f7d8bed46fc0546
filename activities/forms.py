from django import forms

from activities import selectors
from activities.models import Activity, Priority, Status, Tag, hex_color_validator
from nexus.forms import DATETIME_FORMAT, DateTimeField, DateTimeLocalInput

# Projects sit above activities; the form reaches them through the reverse relation.
Project = Activity.projects.rel.related_model


class ActivityForm(forms.ModelForm):
    """Every seed-001 field of an activity, with choices limited to the organization."""

    projects = forms.ModelMultipleChoiceField(queryset=Project.objects.none(), required=False)
    note = forms.CharField(
        required=False,
        max_length=1000,
        label="Note",
        help_text="Why the change (kept in the activity's history).",
        widget=forms.TextInput,
    )

    class Meta:
        model = Activity
        fields = [
            "title",
            "description",
            "type",
            "status",
            "priority",
            "start_time",
            "end_time",
            "assigned_to",
            "tags",
        ]
        # Times the database can store, whatever offset was typed.
        field_classes = {"start_time": DateTimeField, "end_time": DateTimeField}
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "start_time": DateTimeLocalInput(),
            "end_time": DateTimeLocalInput(),
            "tags": forms.SelectMultiple(attrs={"size": 6}),
        }
        labels = {"assigned_to": "Assignee", "type": "Type"}
        help_texts = {"assigned_to": "Leave empty to put it in the pool technicians claim from."}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = selectors.assignable_people(organization=organization)
        self.fields["assigned_to"].label_from_instance = lambda user: f"{user.display_name} ({user.get_role_display()})"
        self.fields["tags"].queryset = Tag.objects.filter(organization=organization).order_by("name")
        self.fields["projects"].queryset = Project.objects.filter(organization=organization).order_by("name")
        self.fields["projects"].widget.attrs["size"] = 4
        for name in ("start_time", "end_time"):
            self.fields[name].input_formats = [DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        if self.instance.pk:
            self.fields["projects"].initial = list(self.instance.projects.values_list("pk", flat=True))
        else:
            del self.fields["note"]

    def clean(self):
        data = super().clean()
        start, end = data.get("start_time"), data.get("end_time")
        if start and end and end < start:
            self.add_error("end_time", "The end time must not be before the start time.")
        return data

    def service_fields(self) -> dict:
        return dict(self.cleaned_data)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    notes = forms.CharField(required=False, max_length=1000, label="Note")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)
    reason = forms.CharField(required=False, max_length=1000)


class AssignForm(forms.Form):
    assigned_to = forms.ModelChoiceField(queryset=None, required=False, label="Assignee", empty_label="Nobody (pool)")
    note = forms.CharField(required=False, max_length=1000)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assigned_to"].queryset = selectors.assignable_people(organization=organization)


class CommentForm(forms.Form):
    body = forms.CharField(
        max_length=10_000, label="Comment", widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a comment…"})
    )


class TagForm(forms.ModelForm):
    color = forms.CharField(
        max_length=7,
        initial="#3B82F6",
        validators=[hex_color_validator],
        widget=forms.TextInput(attrs={"type": "color"}),
    )

    class Meta:
        model = Tag
        fields = ["name", "description", "color", "category"]
        widgets = {"description": forms.TextInput}
