"""Forms of the machine pages. They parse and limit choices to the organization; the services validate."""

from django import forms

from machines.models import Machine, MachineType, Severity
from nexus.forms import MultipleFileField, MultipleFileInput
from nexus.tenancy import scoped

PHOTO_TYPES = "image/png,image/jpeg,image/gif,image/webp"


def _photos_field(label: str = "Photos") -> MultipleFileField:
    return MultipleFileField(
        label=label,
        help_text="JPEG, PNG, GIF or WebP; a phone's camera works.",
        widget=MultipleFileInput(attrs={"accept": PHOTO_TYPES}),
    )


class MachineTypeForm(forms.ModelForm):
    model = forms.CharField(
        required=False,
        label="3D model",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Paste Sketchfab's embed code or a sketchfab.com model link. Only the model id is kept.",
    )

    class Meta:
        model = MachineType
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.model_id:
            self.fields["model"].initial = f"https://sketchfab.com/models/{self.instance.model_id}"

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in ("name", "description", "model")}


class MachineForm(forms.ModelForm):
    """Every seed-000 node field plus line, location, importance, capacity and ideal cycle time.

    The Hugging Face key is write-only: the field is always empty; leaving it empty keeps the stored key.
    """

    hf_key = forms.CharField(
        required=False,
        max_length=500,
        label="Hugging Face key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    remove_hf_key = forms.BooleanField(required=False, label="Remove the stored key")

    class Meta:
        model = Machine
        fields = [
            "name",
            "machine_type",
            "manufacturer",
            "line",
            "location",
            "importance",
            "capacity_per_hour",
            "ideal_cycle_seconds",
            "pos_x",
            "pos_y",
            "pos_z",
            "video_feed_url",
            "hf_endpoint",
        ]
        labels = {
            "capacity_per_hour": "Capacity (parts per hour)",
            "ideal_cycle_seconds": "Ideal cycle time (seconds)",
            "pos_x": "Position x (m)",
            "pos_y": "Position y (m)",
            "pos_z": "Position z (m)",
            "video_feed_url": "Video feed URL",
            "hf_endpoint": "Hugging Face endpoint",
        }
        help_texts = {"pos_x": "Across the floor map.", "pos_y": "Down the floor map.", "pos_z": "Height."}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["machine_type"].queryset = scoped(MachineType, organization).order_by("name")
        if self.instance.pk and self.instance.hf_key:
            self.fields["hf_key"].help_text = "A key is stored. Leave empty to keep it; it is never shown."
        else:
            self.fields["hf_key"].help_text = "Stored, never shown again."
            del self.fields["remove_hf_key"]

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in self.Meta.fields}
        if self.cleaned_data.get("remove_hf_key"):
            fields["hf_key"] = ""
        elif self.cleaned_data["hf_key"]:
            fields["hf_key"] = self.cleaned_data["hf_key"]
        return fields


class EdgeForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Machine.objects.none(), label="Feeds into")
    flow_type = forms.CharField(required=False, max_length=50, label="What flows", help_text="e.g. blanks, parts")

    def __init__(self, *args, machine: Machine, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = (
            scoped(Machine, machine.organization_id).exclude(pk=machine.pk).order_by("line", "name")
        )


class FaultReportForm(forms.Form):
    description = forms.CharField(
        max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), help_text="What is wrong, and what you saw."
    )
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.MEDIUM)
    photos = _photos_field()


class FaultNoteForm(forms.Form):
    body = forms.CharField(required=False, max_length=5000, label="Note", widget=forms.Textarea(attrs={"rows": 2}))
    photos = _photos_field()


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        max_length=5000, label="Resolution", widget=forms.Textarea(attrs={"rows": 2}), help_text="What was done."
    )


class WarningForm(forms.Form):
    message = forms.CharField(max_length=300, label="Warning")


class IntegrationTokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Which system uses it, e.g. “SCADA line 1”.")
    machine = forms.ModelChoiceField(
        queryset=Machine.objects.none(),
        required=False,
        empty_label="Every machine",
        help_text="Limit the token to one machine.",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["machine"].queryset = scoped(Machine, organization).order_by("line", "name")
