"""Where an activity came from: an extension point that higher apps fill.

Activities know nothing of the apps above them (DESIGN.md: imports point one
way), yet an activity opened by a machine incident should say so on its page.
A higher app registers a provider in its `AppConfig.ready()`; the detail page
asks every provider for the activity's origins and shows what they return.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from activities.models import Activity


@dataclass(frozen=True)
class OriginFact:
    """One labelled value of an origin (the machine, the severity), linked when `url` is given."""

    label: str
    text: str
    url: str = ""


@dataclass(frozen=True)
class Origin:
    """What opened an activity, as its detail page shows it."""

    label: str  # the kind of origin, e.g. "Machine incident"
    title: str  # its own name, e.g. the incident's title
    url: str = ""  # its page, "" when it has none
    since: datetime | None = None  # when it began
    facts: tuple[OriginFact, ...] = field(default_factory=tuple)


OriginProvider = Callable[[Activity], list[Origin]]
_providers: dict[str, OriginProvider] = {}


def register_origin_provider(name: str, provider: OriginProvider) -> None:
    """Add (or replace, by `name`) a provider: `provider(activity)` returns the origins it knows of.

    A provider reads only rows of `activity.organization_id`; it is called once per detail page.
    """
    _providers[name] = provider


def origins_of(activity: Activity) -> list[Origin]:
    """Every origin the registered providers know for `activity`, in the order they were registered."""
    return [origin for provider in _providers.values() for origin in provider(activity)]
