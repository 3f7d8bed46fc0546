from django import forms
from django.conf import settings

from accounts.models import User
from chat.models import SystemMessage
from chat.services import MAX_MESSAGE_LENGTH
from nexus.forms import DateTimeField, DateTimeLocalInput
from nexus.tenancy import scoped


def _people(organization):
    return scoped(User, organization).filter(is_active=True).order_by("first_name", "username")


class MessageForm(forms.Form):
    content = forms.CharField(
        required=False,
        max_length=MAX_MESSAGE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Message (Enter sends, Shift+Enter for a new line)"}),
    )
    file = forms.FileField(required=False)
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > settings.CHAT_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"The file is too large: at most {settings.CHAT_MAX_UPLOAD_BYTES // (1024 * 1024)} MB."
            )
        return upload


class GroupForm(forms.Form):
    name = forms.CharField(max_length=80)
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(), widget=forms.SelectMultiple(attrs={"size": 6})
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = _people(organization)
        self.fields["members"].label_from_instance = lambda user: user.display_name


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=80)
    topic = forms.CharField(max_length=250, required=False)


class SystemMessageForm(forms.Form):
    title = forms.CharField(max_length=200)
    content = forms.CharField(required=False, max_length=MAX_MESSAGE_LENGTH, widget=forms.Textarea(attrs={"rows": 3}))
    message_type = forms.ChoiceField(choices=SystemMessage.Level.choices, label="Type")
    is_broadcast = forms.BooleanField(required=False, label="Everyone in the organization")
    target_users = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Or these people",
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    expires_at = DateTimeField(required=False, label="Until", widget=DateTimeLocalInput())

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target_users"].queryset = _people(organization)
        self.fields["target_users"].label_from_instance = lambda user: user.display_name
