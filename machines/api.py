"""JSON API for machines, their faults and warnings (seed 002), and logging in for a token.

Three kinds of caller: a browser session, a personal token (`nxs_…`) and an
integration token (`nxm_…`) of an external system such as monitoring or a
sensor. An integration token acts as the system (faults and warnings it sends
have no reporter): it may read machines, report faults and add or clear
warnings, limited to its machine when it has one, and nothing else (403).
People act with their role's powers from `nexus.permissions`, checked by the
services. A machine, fault or warning of another organization, or outside an
integration token's machine, is a 404. Machines never show their `hf_key`.
"""

from datetime import datetime
from typing import Annotated

from allauth.mfa.utils import is_mfa_enabled
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, UploadedFile
from ninja import Status as HttpStatus  # the name Status is the machine status here
from ninja.security import HttpBearer
from ninja.throttling import AnonRateThrottle
from pydantic import AfterValidator, BeforeValidator

from accounts import services as account_services
from accounts.api import Error, PersonRef
from accounts.models import ApiToken, User
from machines import selectors, services
from machines.models import (
    MAX_TEXT_LENGTH,
    FaultCase,
    FaultPhoto,
    IntegrationToken,
    Machine,
    MachineWarning,
    Severity,
    Status,
)
from nexus.errors import error_text
from nexus.files import protected_file_response
from nexus.permissions import Action, require
from nexus.schemas import Id, max_length_of, not_a_boolean

router = Router(tags=["machines"])

SYSTEM_LIMIT = "An integration token may only read machines, report faults and add or clear warnings."
SEVERITY_NOTE = f"One of {', '.join(Severity.values)} (any case)."
# Seed 002's external systems send importance as a number from 1 to 5; the hub keeps four levels.
IMPORTANCE_BY_NUMBER = {1: Severity.LOW, 2: Severity.LOW, 3: Severity.MEDIUM, 4: Severity.HIGH, 5: Severity.CRITICAL}
IMPORTANCE_NOTE = (
    f"One of {', '.join(Severity.values)} (any case), or a number from 1 to 5: "
    + ", ".join(f"{number} is {level.value}" for number, level in IMPORTANCE_BY_NUMBER.items())
    + "."
)


def _importance_level(value: int | str) -> str:
    """A number becomes its level; a name is checked by the service, which names the levels if it is wrong."""
    return IMPORTANCE_BY_NUMBER[value].value if isinstance(value, int) else value


Importance = Annotated[
    Annotated[int, Field(ge=1, le=5)] | str, BeforeValidator(not_a_boolean), AfterValidator(_importance_level)
]


class IntegrationTokenAuth(HttpBearer):
    """`Authorization: Bearer nxm_…`: an external system's token, scoped to its organization (and machine)."""

    openapi_description = (
        "An integration token for monitoring systems and sensors: reads machines, reports faults and "
        "adds or clears warnings, limited to one machine when it was created for one."
    )

    def authenticate(self, request, token: str):
        integration_token = services.authenticate_integration_token(token)
        if integration_token is None:
            return None
        request.integration_token = integration_token
        request.organization = integration_token.organization
        timezone.activate(integration_token.organization.tzinfo)
        return integration_token


# Schemas


class MachineTypeRef(Schema):
    id: int
    name: str


class WarningOut(Schema):
    id: int
    message: str
    created_by: PersonRef | None = Field(description="Null when an external system added it.")
    created_at: datetime
    cleared_at: datetime | None


class MachineOut(Schema):
    id: int
    name: str
    machine_type: MachineTypeRef
    manufacturer: str
    line: str
    location: str
    importance: Severity
    capacity_per_hour: int | None
    ideal_cycle_seconds: float | None
    pos_x: float
    pos_y: float
    pos_z: float
    video_feed_url: str
    hf_endpoint: str
    has_hf_key: bool = Field(description="Whether a Hugging Face key is stored; the key itself is never shown.")
    status: Status = Field(description="Derived: fault while a fault is open, else warning, else ok.")
    status_changed_at: datetime | None
    open_fault_count: int
    warnings: list[WarningOut] = Field(description="Active (uncleared) warnings, newest first.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_has_hf_key(obj) -> bool:
        return bool(obj.hf_key)

    @staticmethod
    def resolve_warnings(obj) -> list:
        return obj.active_warnings


class MachineIn(Schema):
    name: str = Field(max_length=max_length_of(Machine, "name"))
    machine_type_id: Id | None = Field(
        None,
        description=(
            "A machine type of your organization. Left out, the organization's only machine type; with "
            "several, or none, it is a 400 that says what to send."
        ),
    )
    manufacturer: str = Field("", max_length=max_length_of(Machine, "manufacturer"))
    line: str = Field("", max_length=max_length_of(Machine, "line"))
    location: str = Field("", max_length=max_length_of(Machine, "location"))
    importance: Importance = Field(Severity.MEDIUM, description=IMPORTANCE_NOTE)
    capacity_per_hour: int | None = Field(None, description="Parts per hour; at least 0.")
    ideal_cycle_seconds: float | None = Field(None, description="Positive.")
    pos_x: float = 0
    pos_y: float = 0
    pos_z: float = 0
    video_feed_url: str = Field("", max_length=max_length_of(Machine, "video_feed_url"))
    hf_endpoint: str = Field("", max_length=max_length_of(Machine, "hf_endpoint"))
    hf_key: str = Field(
        "", max_length=max_length_of(Machine, "hf_key"), description="Write-only: stored, never returned."
    )


class MachinePatch(Schema):
    name: str | None = Field(None, max_length=max_length_of(Machine, "name"))
    machine_type_id: Id | None = None
    manufacturer: str | None = Field(None, max_length=max_length_of(Machine, "manufacturer"))
    line: str | None = Field(None, max_length=max_length_of(Machine, "line"))
    location: str | None = Field(None, max_length=max_length_of(Machine, "location"))
    importance: Importance | None = Field(None, description=IMPORTANCE_NOTE)
    capacity_per_hour: int | None = None
    ideal_cycle_seconds: float | None = None
    pos_x: float | None = None
    pos_y: float | None = None
    pos_z: float | None = None
    video_feed_url: str | None = Field(None, max_length=max_length_of(Machine, "video_feed_url"))
    hf_endpoint: str | None = Field(None, max_length=max_length_of(Machine, "hf_endpoint"))
    hf_key: str | None = Field(
        None,
        max_length=max_length_of(Machine, "hf_key"),
        description='Write-only: a new key, or "" to remove it; omit to keep it.',
    )


class PhotoOut(Schema):
    id: int
    filename: str
    url: str = Field(description="The photo, re-encoded without its metadata.")
    thumbnail_url: str
    uploaded_by: PersonRef | None
    uploaded_at: datetime

    @staticmethod
    def resolve_url(obj) -> str:
        return reverse("api-v1:machines_fault_photo", args=[obj.fault_id, obj.pk])

    @staticmethod
    def resolve_thumbnail_url(obj) -> str:
        return reverse("api-v1:machines_fault_photo_thumbnail", args=[obj.fault_id, obj.pk])


class NoteOut(Schema):
    id: int
    author: PersonRef | None = Field(description="Null when its author's account was deleted.")
    body: str
    created_at: datetime
    photos: list[PhotoOut]

    @staticmethod
    def resolve_photos(obj) -> list:
        return list(obj.photos.all())


class FaultOut(Schema):
    id: int
    machine_id: int
    description: str
    severity: Severity
    state: FaultCase.State
    reported_by: PersonRef | None = Field(description="Null when an external system reported it.")
    reported_at: datetime
    resolved_by: PersonRef | None
    resolved_at: datetime | None
    resolution: str
    incident_id: int | None = Field(description="The incident it opened or joined.")
    activity_id: int | None = Field(description="The incident's claimable Maintenance activity.")
    assigned_to: PersonRef | None = Field(
        description="Who works on it: the assignee of the incident's activity, whether assigned here or there."
    )
    photos: list[PhotoOut] = Field(description="Photos taken when it was reported.")
    notes: list[NoteOut] = Field(description="Technicians' notes, oldest first, each with its photos.")

    @staticmethod
    def resolve_activity_id(obj) -> int | None:
        return obj.incident.activity_id if obj.incident_id else None

    @staticmethod
    def resolve_assigned_to(obj) -> User | None:
        activity = obj.incident.activity if obj.incident_id else None
        return activity.assigned_to if activity is not None else None

    @staticmethod
    def resolve_photos(obj) -> list:
        return obj.report_photos

    @staticmethod
    def resolve_notes(obj) -> list:
        return list(obj.notes.all())


class FaultIn(Schema):
    description: str = Field(max_length=MAX_TEXT_LENGTH)
    severity: str = Field(Severity.MEDIUM, description=SEVERITY_NOTE)


class FaultAssignIn(Schema):
    assignee_id: Id | None = Field(
        description="An active technician of your organization; null puts the fault back in the pool."
    )


class ResolveIn(Schema):
    resolution: str = Field(max_length=MAX_TEXT_LENGTH, description="What was done; required.")


class WarningIn(Schema):
    message: str = Field(max_length=max_length_of(MachineWarning, "message"), description="At most 300 characters.")


class LoginIn(Schema):
    username: str = Field(max_length=254, description="Username or e-mail address.")
    password: str = Field(max_length=4096)
    name: str = Field(
        "API login",
        max_length=max_length_of(ApiToken, "name"),
        description="A name for the token, to recognise it on the profile page.",
    )
    expires_in_days: int | None = Field(None, description="1 to 3650; null for no expiry.")


class LoginOut(Schema):
    id: int
    name: str
    token: str = Field(description="Send as `Authorization: Bearer <token>`. Shown in this response only.")
    expires_at: datetime | None


# Callers


def _integration_token(request) -> IntegrationToken | None:
    return getattr(request, "integration_token", None)


def _person(request) -> User:
    """The person calling; an integration token may not do what only people do."""
    if _integration_token(request) is not None:
        raise PermissionDenied(SYSTEM_LIMIT)
    return request.user


def _actor(request) -> User | None:
    """Who the services record: the person, or None for an external system."""
    return None if _integration_token(request) is not None else request.user


def _get_machine_for_caller(request, machine_id: int) -> Machine:
    token = _integration_token(request)
    if token is not None and token.machine_id is not None and token.machine_id != machine_id:
        raise Http404
    return selectors.get_machine_or_404(organization=request.organization, pk=machine_id)


def _machine_fields(payload: Schema, *, organization, exclude_unset: bool) -> dict:
    fields = payload.dict(exclude_unset=exclude_unset)
    if "machine_type_id" in fields:
        fields["machine_type"] = selectors.get_machine_type(organization=organization, pk=fields.pop("machine_type_id"))
    if isinstance(fields.get("importance"), str):
        fields["importance"] = fields["importance"].strip().lower()
    return fields


def _only_machine_type(request):
    """The machine type a body without one means: the organization's only one, or a 400 saying what to send."""
    kinds = list(selectors.machine_types_of(organization=request.organization)[:11])
    if len(kinds) == 1:
        return kinds[0]
    if not kinds:
        raise ValidationError(
            {"machine_type_id": "Create a machine type first, on the Machine types page (/machines/types/)."}
        )
    listed = ", ".join(f"{kind.pk} ({kind.name})" for kind in kinds[:10])
    raise ValidationError({"machine_type_id": f"Send one of your machine types: {listed}."})


# Machines

MACHINE_RESPONSES = {400: Error, 401: Error, 403: Error, 404: Error}


@router.get(
    "/machines/",
    response={200: list[MachineOut], 401: Error},
    summary="List machines",
    description=(
        "Every machine of the organization with its status, open fault count and active warnings. "
        "Any member; an integration token sees its machine only when it was created for one."
    ),
)
def list_machines(request):
    token = _integration_token(request)
    machine_id = token.machine_id if token is not None else None
    return list(selectors.machines_for(organization=request.organization, machine_id=machine_id))


@router.post(
    "/machines/",
    response={201: MachineOut, **MACHINE_RESPONSES},
    summary="Create a machine",
    description="Managers and admins. The name is unique in the organization; `hf_key` is write-only.",
)
def create_machine(request, payload: MachineIn):
    actor = _person(request)
    fields = _machine_fields(payload, organization=request.organization, exclude_unset=False)
    if payload.machine_type_id is None:
        fields["machine_type"] = _only_machine_type(request)
    machine = services.create_machine(actor=actor, **fields)
    return HttpStatus(201, selectors.get_machine_or_404(organization=request.organization, pk=machine.pk))


@router.get(
    "/machines/{machine_id}/",
    response={200: MachineOut, 401: Error, 404: Error},
    summary="One machine",
    description="Any member, or an integration token of the organization (of this machine, if limited to one).",
)
def get_machine(request, machine_id: int):
    return _get_machine_for_caller(request, machine_id)


@router.patch(
    "/machines/{machine_id}/",
    response={200: MachineOut, **MACHINE_RESPONSES},
    summary="Change a machine",
    description=(
        "Managers and admins. Only the fields sent change; send `hf_key` to replace the key "
        '("" removes it), omit it to keep it.'
    ),
)
def update_machine(request, machine_id: int, payload: MachinePatch):
    actor = _person(request)
    machine = _get_machine_for_caller(request, machine_id)
    fields = _machine_fields(payload, organization=request.organization, exclude_unset=True)
    services.update_machine(actor=actor, machine=machine, **fields)
    return selectors.get_machine_or_404(organization=request.organization, pk=machine_id)


@router.delete(
    "/machines/{machine_id}/",
    response={204: None, 401: Error, 403: Error, 404: Error},
    summary="Delete a machine",
    description="Managers and admins. Its faults, warnings, incidents and status history go with it.",
)
def delete_machine(request, machine_id: int):
    actor = _person(request)
    machine = _get_machine_for_caller(request, machine_id)
    services.delete_machine(actor=actor, machine=machine)
    return HttpStatus(204, None)


# Faults


@router.get(
    "/machines/{machine_id}/faults/",
    response={200: list[FaultOut], 401: Error, 403: Error, 404: Error},
    summary="List a machine's fault cases",
    description=(
        "Technicians, managers and admins (seed 002: Manager/Technician/Repair), newest first; "
        "`state=open` or `state=resolved` filters."
    ),
)
def list_faults(request, machine_id: int, state: FaultCase.State | None = None):
    require(_person(request), Action.RESOLVE_FAULT)
    machine = _get_machine_for_caller(request, machine_id)
    return list(selectors.faults_of(machine=machine, state=state))


@router.post(
    "/machines/{machine_id}/faults/",
    response={201: FaultOut, **MACHINE_RESPONSES},
    summary="Report a fault",
    description=(
        "Any member, or an integration token (then it has no reporter). The machine turns to fault, and the "
        "fault opens or joins the machine's incident with its claimable Maintenance activity."
    ),
)
def report_fault(request, machine_id: int, payload: FaultIn):
    machine = _get_machine_for_caller(request, machine_id)
    fault = services.report_fault(
        machine=machine,
        reporter=_actor(request),
        description=payload.description,
        severity=payload.severity.strip().lower(),
    )
    return HttpStatus(201, selectors.get_fault_or_404(organization=request.organization, pk=fault.pk, detailed=True))


@router.patch(
    "/faults/{fault_id}/resolve/",
    response={200: FaultOut, **MACHINE_RESPONSES},
    summary="Resolve a fault",
    description=(
        "Technicians, managers and admins. The last open fault of an incident closes it and its activity; "
        "the machine's status is derived again. A resolved fault cannot be resolved twice (400)."
    ),
)
def resolve_fault(request, fault_id: int, payload: ResolveIn):
    actor = _person(request)
    fault = selectors.get_fault_or_404(organization=request.organization, pk=fault_id)
    services.resolve_fault(fault=fault, actor=actor, resolution=payload.resolution)
    return selectors.get_fault_or_404(organization=request.organization, pk=fault_id, detailed=True)


@router.post(
    "/faults/{fault_id}/assign/",
    response={200: FaultOut, **MACHINE_RESPONSES},
    summary="Assign a fault to a technician",
    description=(
        "Managers and admins. Assigns the fault's incident activity, so the fault and its work order have one "
        "owner whether it is assigned here, on the fault's page or on the activity's page (and the escalation "
        "stops once it is claimed). The assignee must be an active technician of your organization (400 "
        "otherwise); a resolved fault, or one without an open work order, is a 400. Staff, technicians and "
        "integration tokens get a 403."
    ),
)
def assign_fault(request, fault_id: int, payload: FaultAssignIn):
    actor = _person(request)
    require(actor, Action.ASSIGN_WORK)
    fault = selectors.get_fault_or_404(organization=request.organization, pk=fault_id)
    assignee = None
    if payload.assignee_id is not None:
        assignee = User.objects.filter(organization=request.organization, pk=payload.assignee_id).first()
        if assignee is None:
            raise ValidationError({"assignee_id": f"Unknown person {payload.assignee_id}."})
    try:
        services.assign_fault(fault=fault, actor=actor, assignee=assignee)
    except ValidationError as error:
        return HttpStatus(400, {"detail": error_text(error, {"assignee": "assignee_id"})})
    return selectors.get_fault_or_404(organization=request.organization, pk=fault_id, detailed=True)


@router.post(
    "/faults/{fault_id}/notes/",
    response={201: NoteOut, **MACHINE_RESPONSES},
    summary="Add a note and photos to a fault",
    description=(
        "Technicians, managers and admins. A multipart form: `body` (the note; may be empty when photos are "
        "sent) and up to the configured number of `photos` (JPEG, PNG, GIF or WebP, re-encoded without metadata)."
    ),
)
def add_fault_note(request, fault_id: int, body: Form[str] = "", photos: File[list[UploadedFile]] = None):
    actor = _person(request)
    fault = selectors.get_fault_or_404(organization=request.organization, pk=fault_id)
    note = services.add_fault_note(fault=fault, author=actor, body=body, photos=photos or [])
    return HttpStatus(201, note)


def _get_photo_for_caller(request, fault_id: int, photo_id: int) -> FaultPhoto:
    _person(request)
    photo = selectors.get_photo_or_404(organization=request.organization, pk=photo_id)
    if photo.fault_id != fault_id:
        raise Http404
    return photo


def _photo_response(photo: FaultPhoto, size: str):
    field, content_type, name = photo.served(size)
    return protected_file_response(field, download_name=name, content_type=content_type, inline=True)


@router.get(
    "/faults/{fault_id}/photos/{photo_id}/",
    response={200: None, 403: Error, 404: Error},
    url_name="machines_fault_photo",
    summary="A photo of a fault",
    description="Any member of the organization (people, not integration tokens).",
)
def get_fault_photo(request, fault_id: int, photo_id: int):
    photo = _get_photo_for_caller(request, fault_id, photo_id)
    return _photo_response(photo, "full")


@router.get(
    "/faults/{fault_id}/photos/{photo_id}/thumbnail/",
    response={200: None, 403: Error, 404: Error},
    url_name="machines_fault_photo_thumbnail",
    summary="A fault photo's thumbnail",
)
def get_fault_photo_thumbnail(request, fault_id: int, photo_id: int):
    photo = _get_photo_for_caller(request, fault_id, photo_id)
    return _photo_response(photo, "thumbnail")


# Warnings


@router.post(
    "/machines/{machine_id}/warnings/",
    response={201: WarningOut, **MACHINE_RESPONSES},
    summary="Add a warning to a machine",
    description=(
        "Any member, or an integration token. An OK machine turns to warning and a low-severity incident opens."
    ),
)
def add_warning(request, machine_id: int, payload: WarningIn):
    machine = _get_machine_for_caller(request, machine_id)
    return HttpStatus(201, services.add_warning(machine=machine, actor=_actor(request), message=payload.message))


@router.delete(
    "/machines/{machine_id}/warnings/{warning_id}/",
    response={204: None, 401: Error, 403: Error, 404: Error},
    summary="Clear a warning",
    description="Technicians, managers and admins, or an integration token. Clearing a cleared warning is a no-op.",
)
def clear_warning(request, machine_id: int, warning_id: int):
    machine = _get_machine_for_caller(request, machine_id)
    warning = selectors.get_warning_or_404(machine=machine, pk=warning_id)
    services.clear_warning(warning=warning, actor=_actor(request))
    return HttpStatus(204, None)


# Logging in


@router.post(
    "/auth/token/",
    auth=None,
    throttle=[AnonRateThrottle("10/m")],
    response={201: LoginOut, 400: Error, 401: Error, 403: Error, 429: Error},
    tags=["tokens"],
    summary="Log in for a personal token",
    description=(
        "Exchange a username (or e-mail) and password for a personal API token (`nxs_…`), the same as one "
        "made on the profile page, where it can be revoked. At most 10 attempts a minute per address. "
        "Accounts with two-factor authentication must create their token on the profile page."
    ),
)
def obtain_token(request, payload: LoginIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if user is None:
        return HttpStatus(401, {"detail": "Wrong username or password."})
    # A password alone must not get around a second factor.
    if is_mfa_enabled(user):
        raise PermissionDenied("This account uses two-factor authentication: create a token on your profile page.")
    token, raw = account_services.create_api_token(
        user=user, name=payload.name, expires_in_days=payload.expires_in_days
    )
    return HttpStatus(201, {"id": token.pk, "name": token.name, "token": raw, "expires_at": token.expires_at})
