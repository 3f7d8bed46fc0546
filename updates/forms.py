from django import forms
from django.utils import timezone

from accounts.models import User
from nexus.forms import DATETIME_FORMAT, DateTimeField, DateTimeLocalInput, MultipleFileField, MultipleFileInput
from nexus.permissions import Role
from updates import services
from updates.models import Priority, Update, UpdateMedia, UpdateType

EVERYONE, ROLES, PEOPLE, CHOSEN = "everyone", "roles", "people", "chosen"
# The pickers each audience needs; the page shows only those (static/js/updates.js), the server ignores the others.
AUDIENCE_PICKERS = {
    EVERYONE: (),
    ROLES: ("target_roles",),
    PEOPLE: ("target_users",),
    CHOSEN: ("target_roles", "target_users"),
}


# What the media picker offers; the service checks each file by its content (nexus.uploads.sniff).
MEDIA_ACCEPT = ",".join(
    [
        "image/png,image/jpeg,image/gif,image/webp,video/mp4,video/webm",
        "audio/mpeg,audio/mp4,audio/ogg,audio/wav,audio/flac,audio/webm",
        ".mp3,.m4a,.ogg,.oga,.opus,.wav,.flac,.weba",
    ]
)


def _audience_of(update: Update) -> str:
    if update.target_all:
        return EVERYONE
    roles, people = bool(update.target_roles), update.target_users.exists()
    return CHOSEN if roles and people else ROLES if roles else PEOPLE


def _file_key(item) -> str:
    return f"{'media' if isinstance(item, UpdateMedia) else 'file'}-{item.pk}"


class UpdateForm(forms.Form):
    """What an author writes, who it is for, its files, and what happens on submit (`action`).

    A published update keeps the audience it was published to, so the form of one
    has no audience, schedule or draft choices.
    """

    ACTIONS = {"draft": "Save draft", "publish": "Publish now", "schedule": "Schedule", "save": "Save"}

    title = forms.CharField(max_length=services.MAX_TITLE_LENGTH)
    content = forms.CharField(
        required=False,
        max_length=services.MAX_CONTENT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown: **bold**, lists, links.",
    )
    type = forms.ChoiceField(choices=UpdateType.choices)
    priority = forms.ChoiceField(
        choices=Priority.choices,
        initial=Priority.MEDIUM,
        help_text="Critical updates ask every recipient to acknowledge.",
    )
    audience = forms.ChoiceField(
        choices=[
            (EVERYONE, "Everyone in the organization"),
            (ROLES, "Some roles"),
            (PEOPLE, "Some people"),
            (CHOSEN, "Some roles and some people"),
        ],
        initial=EVERYONE,
        widget=forms.RadioSelect,
    )
    target_roles = forms.MultipleChoiceField(
        choices=Role.choices, required=False, label="Roles", widget=forms.CheckboxSelectMultiple
    )
    target_users = forms.ModelMultipleChoiceField(queryset=User.objects.none(), required=False, label="People")
    attachments = MultipleFileField(label="Attachments", help_text="Documents to download: PDF, Office, text, images.")
    media = MultipleFileField(
        label="Images, videos and audio",
        help_text="Shown in the update: PNG, JPEG, GIF, WebP, MP4, WebM, MP3, M4A, Ogg, WAV or FLAC.",
        widget=MultipleFileInput(attrs={"accept": MEDIA_ACCEPT}),
    )
    caption = forms.CharField(
        required=False, max_length=services.MAX_CAPTION_LENGTH, help_text="One caption for the media above."
    )
    published_at = DateTimeField(
        required=False,
        label="Publish at",
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
    )

    def __init__(self, *args, organization, update: Update | None = None, **kwargs):
        if update is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "title": update.title,
                "content": update.content,
                "type": update.type,
                "priority": update.priority,
                "audience": _audience_of(update),
                "target_roles": update.target_roles,
                "target_users": list(update.target_users.values_list("pk", flat=True)),
                "published_at": update.published_at if update.is_scheduled else None,
            }
        super().__init__(*args, **kwargs)
        self.update = update
        people = User.objects.filter(organization=organization, is_active=True).order_by("first_name", "username")
        self.fields["target_users"].queryset = people
        self.fields["target_users"].label_from_instance = lambda user: (
            f"{user.display_name} ({user.get_role_display()})"
        )
        self.fields["target_users"].widget.attrs["size"] = 8
        if update is not None and update.is_published:
            for name in ("audience", "target_roles", "target_users", "published_at"):
                del self.fields[name]
        files = [] if update is None else [*update.attachments.all(), *update.media.all()]
        if files:
            self.fields["remove_files"] = forms.MultipleChoiceField(
                choices=[(_file_key(item), item.filename) for item in files],
                required=False,
                widget=forms.CheckboxSelectMultiple,
                label="Remove these files",
            )

    @property
    def is_published(self) -> bool:
        return self.update is not None and self.update.is_published

    def clean(self):
        data = super().clean()
        # The submit button pressed names the action; it is not a field the form renders.
        action = self.data.get("action") or ("save" if self.is_published else "draft")
        if action not in self.ACTIONS:
            raise forms.ValidationError("Choose one of the buttons.")
        if self.is_published and action != "save":
            raise forms.ValidationError("The update is published; save your changes.")
        if not self.is_published and action == "save":
            action = "draft"
        data["action"] = action
        audience = data.get("audience")
        if audience == ROLES and not data.get("target_roles"):
            self.add_error("target_roles", "Choose at least one role, or send it to everyone.")
        elif audience == PEOPLE and not data.get("target_users") and "target_users" not in self.errors:
            self.add_error("target_users", "Choose at least one person, or send it to everyone.")
        elif audience == CHOSEN and not data.get("target_roles") and not data.get("target_users"):
            self.add_error("audience", "Choose at least one role or person, or send it to everyone.")
        when = data.get("published_at")
        if action == "schedule":
            if when is None:
                self.add_error("published_at", "Choose when to publish it.")
            elif when <= timezone.now():
                self.add_error("published_at", "Choose a time in the future, or publish now.")
        return data

    def draft(self) -> services.Draft:
        data = self.cleaned_data
        # A picker the chosen audience does not use may still hold ticks (it was hidden, not cleared): ignored.
        pickers = () if self.is_published else AUDIENCE_PICKERS[data["audience"]]
        return services.Draft(
            title=data["title"],
            content=data["content"],
            type=data["type"],
            priority=data["priority"],
            target_all=not pickers,
            target_roles=list(data["target_roles"]) if "target_roles" in pickers else [],
            target_users=list(data["target_users"]) if "target_users" in pickers else [],
        )

    @property
    def audience_pickers(self) -> list[tuple]:
        """(bound field, the audiences that use it, space-separated) of each picker the form has."""
        return [
            (self[name], " ".join(audience for audience, names in AUDIENCE_PICKERS.items() if name in names))
            for name in ("target_roles", "target_users")
            if name in self.fields
        ]

    def files_to_remove(self) -> tuple[list[int], list[int]]:
        """(attachment ids, media ids) ticked for removal."""
        chosen = self.cleaned_data.get("remove_files") or []
        ids = {kind: [int(key.split("-")[1]) for key in chosen if key.startswith(kind)] for kind in ("file", "media")}
        return ids["file"], ids["media"]

    def media_with_captions(self) -> list[tuple]:
        return [(upload, self.cleaned_data["caption"]) for upload in self.cleaned_data["media"]]


class CommentForm(forms.Form):
    content = forms.CharField(
        max_length=services.MAX_COMMENT_LENGTH,
        label="Comment",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "Write a comment…"}),
    )
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
