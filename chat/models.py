"""Chat: conversations, their members, messages, reactions, and system messages.

A conversation is a direct conversation (the seed's sender/receiver pair: two
members), a group (invited members) or a channel (public within the
organization, joinable). Channels that a higher app speaks into (a machine's
channel) carry a stable `key`. Unread counts are never stored: they are counted
from `Membership.last_read_message_id`, so they cannot drift from the messages.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from nexus.tenancy import TenantModel
from nexus.uploads import random_path

# PostgreSQL's text search configuration for messages; the index in migration 0002 is built with it.
SEARCH_CONFIG = "english"


# Enforced for every door by nexus.storable, and stated in the forms and the API's schema.
MAX_MESSAGE_LENGTH = 10_000


# The choices are named after their model (Conversation.Kind is ConversationKind), so the API's schema
# never gives two different enums one name.
class ConversationKind(models.TextChoices):
    DIRECT = "direct", "Direct"
    GROUP = "group", "Group"
    CHANNEL = "channel", "Channel"


class MembershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    MEMBER = "member", "Member"


class MessageType(models.TextChoices):
    TEXT = "text", "Text"
    FILE = "file", "File"
    IMAGE = "image", "Image"
    SYSTEM = "system", "System message"


class SystemMessageLevel(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    ERROR = "error", "Error"
    SUCCESS = "success", "Success"


class Conversation(TenantModel):
    Kind = ConversationKind

    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(
        max_length=80,
        blank=True,
        help_text="Groups and channels; direct conversations are named after the other person.",
    )
    topic = models.CharField(max_length=250, blank=True)
    # Stable identity for conversations other code finds again: "dm:<low id>:<high id>" for direct
    # conversations, "machine:<id>" and the like for channels a higher app opens.
    key = models.CharField(max_length=100, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    is_archived = models.BooleanField(default=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="Membership", related_name="conversations")

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], condition=~Q(key=""), name="conversation_unique_key"
            ),
            models.UniqueConstraint(
                "organization",
                models.functions.Lower("name"),
                condition=Q(kind="channel"),
                name="channel_unique_name",
            ),
        ]
        indexes = [models.Index(fields=["organization", "kind"], name="idx_conversation_org_kind")]

    def __str__(self) -> str:
        return self.name or f"Conversation {self.pk}"

    @property
    def is_direct(self) -> bool:
        return self.kind == self.Kind.DIRECT

    @property
    def is_channel(self) -> bool:
        return self.kind == self.Kind.CHANNEL


class Membership(models.Model):
    Role = MembershipRole

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # Everything up to and including this message id counts as read (ids only grow).
    last_read_message_id = models.BigIntegerField(null=True, blank=True)
    last_read_at = models.DateTimeField(null=True, blank=True)
    muted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "conversation"], name="idx_membership_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


def _attachment_path(message: "Message", filename: str) -> str:
    # Random names: nothing guessable, no clashes, and no uploaded name (any script, any length) on disk.
    return random_path(f"chat/{message.organization_id}", filename)


def _thumbnail_path(message: "Message", filename: str) -> str:
    return random_path(f"chat/{message.organization_id}", "thumb.jpg")


class Message(TenantModel):
    """The seed's ChatMessage, in a conversation rather than between one sender and one receiver."""

    Type = MessageType

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # None for system messages: the system speaks, nobody in particular.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="sent_messages"
    )
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    content = models.TextField(blank=True, max_length=MAX_MESSAGE_LENGTH, help_text="As written (light markdown).")
    content_html = models.TextField(blank=True, help_text="Rendered and sanitized once, when written.")
    # Threads are one level deep: a reply's parent is always a top-level message.
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies")
    reply_count = models.PositiveIntegerField(default=0)
    last_reply_at = models.DateTimeField(null=True, blank=True)
    attachment = models.FileField(upload_to=_attachment_path, blank=True, max_length=300)
    attachment_name = models.CharField(max_length=255, blank=True)
    attachment_size = models.PositiveBigIntegerField(default=0)
    attachment_type = models.CharField(max_length=100, blank=True)
    thumbnail = models.ImageField(upload_to=_thumbnail_path, blank=True, max_length=300)
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="chat_mentions")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # History pages, catch-up after a reconnect and unread counts all walk a conversation by id.
            models.Index(fields=["conversation", "id"], name="idx_message_conversation"),
            models.Index(fields=["parent", "id"], name="idx_message_thread"),
            models.Index(fields=["sender", "created_at"], name="idx_message_sender"),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in {self.conversation_id}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on {self.message_id}"


class SystemMessage(TenantModel):
    """A banner from the system or an administrator: to everyone (broadcast) or to chosen people."""

    Level = SystemMessageLevel

    title = models.CharField(max_length=200)
    content = models.TextField(blank=True, max_length=MAX_MESSAGE_LENGTH)
    message_type = models.CharField(max_length=20, choices=Level.choices, default=Level.INFO)
    target_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="system_messages")
    is_broadcast = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # A stable key lets a higher app raise "the same" banner again without duplicating it.
    key = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], condition=~Q(key=""), name="system_message_unique_key"
            )
        ]
        indexes = [models.Index(fields=["organization", "expires_at"], name="idx_systemmessage_org_expiry")]

    def __str__(self) -> str:
        return self.title


class SystemMessageDismissal(models.Model):
    system_message = models.ForeignKey(SystemMessage, on_delete=models.CASCADE, related_name="dismissals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    dismissed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system_message", "user"], name="system_message_dismissal_unique")
        ]

    def __str__(self) -> str:
        return f"{self.system_message_id} dismissed by {self.user_id}"
