"""The hub's one date formatter (nexus/dates.py) and its template tags: relative while recent, absolute after,
in the active (the organization's) time zone."""

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone

from nexus.dates import absolute_text, date_text, duration_text, relative_text, when_html

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
# Thursday 3 December 2026, 15:00 in Berlin (14:00 UTC).
NOW = dt.datetime(2026, 12, 3, 15, 0, tzinfo=BERLIN)


@pytest.fixture(autouse=True)
def berlin():
    with time_machine.travel(NOW, tick=False), timezone.override(BERLIN):
        yield


def ago(**kwargs) -> dt.datetime:
    return NOW - dt.timedelta(**kwargs)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (NOW, "just now"),
        (ago(seconds=59), "just now"),
        (ago(seconds=60), "1 min ago"),
        (ago(minutes=5, seconds=30), "5 min ago"),
        (ago(minutes=59, seconds=59), "59 min ago"),
        (ago(hours=1), "1 h ago"),
        (ago(hours=3, minutes=50), "3 h ago"),
        (ago(hours=15), "15 h ago"),  # 00:00 today: still today
        (ago(hours=15, seconds=1), "yesterday 23:59"),
        (ago(days=1, hours=0, minutes=55), "yesterday 14:05"),
        (dt.datetime(2026, 12, 2, 0, 0, tzinfo=BERLIN), "yesterday 00:00"),
        (dt.datetime(2026, 12, 1, 23, 59, tzinfo=BERLIN), "1 Dec 23:59"),
        (dt.datetime(2026, 1, 1, 0, 0, tzinfo=BERLIN), "1 Jan 00:00"),
        (dt.datetime(2025, 12, 31, 23, 59, tzinfo=BERLIN), "31 Dec 2025"),
    ],
)
def test_it_writes_past_times_relative_while_recent_then_absolute(moment, text):
    assert relative_text(moment) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (NOW + dt.timedelta(seconds=30), "just now"),
        (NOW + dt.timedelta(minutes=5), "in 5 min"),
        (NOW + dt.timedelta(hours=2, minutes=30), "in 2 h"),
        (dt.datetime(2026, 12, 3, 23, 59, tzinfo=BERLIN), "in 8 h"),
        (dt.datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN), "tomorrow 09:00"),
        (dt.datetime(2026, 12, 5, 9, 0, tzinfo=BERLIN), "5 Dec 09:00"),
        (dt.datetime(2027, 1, 2, 9, 0, tzinfo=BERLIN), "2 Jan 2027"),
    ],
)
def test_it_writes_future_times_as_due_in_or_the_day(moment, text):
    assert relative_text(moment) == text


def test_it_shows_the_day_and_clock_of_the_active_time_zone():
    # 23:30 UTC on 2 Dec is 00:30 on 3 Dec in Berlin (today) and 08:30 on 3 Dec in Tokyo.
    moment = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    assert relative_text(moment) == "14 h ago"
    assert absolute_text(moment) == "Thu 3 Dec 2026, 00:30 CET"
    with timezone.override(dt.UTC):
        assert relative_text(moment) == "yesterday 23:30"
        assert absolute_text(moment) == "Wed 2 Dec 2026, 23:30 UTC"
    with timezone.override(TOKYO):
        assert absolute_text(moment) == "Thu 3 Dec 2026, 08:30 JST"


def test_it_counts_yesterday_by_the_calendar_of_the_zone_not_24_hours():
    # At 00:10 in Berlin, 23:50 the evening before is 20 minutes ago and 22:00 is "yesterday".
    just_after_midnight = dt.datetime(2026, 12, 4, 0, 10, tzinfo=BERLIN)
    assert relative_text(dt.datetime(2026, 12, 3, 23, 50, tzinfo=BERLIN), now=just_after_midnight) == "20 min ago"
    assert relative_text(dt.datetime(2026, 12, 3, 22, 0, tzinfo=BERLIN), now=just_after_midnight) == "yesterday 22:00"


def test_it_writes_calendar_dates_without_a_time():
    assert date_text(dt.date(2026, 12, 3)) == "today"
    assert date_text(dt.date(2026, 12, 2)) == "yesterday"
    assert date_text(dt.date(2026, 12, 4)) == "tomorrow"
    assert date_text(dt.date(2026, 12, 24)) == "24 Dec"
    assert date_text(dt.date(2025, 3, 9)) == "9 Mar 2025"
    assert absolute_text(dt.date(2026, 12, 24)) == "Thu 24 Dec 2026"


def test_it_renders_a_time_element_with_the_utc_instant_and_the_full_date_on_hover():
    html = when_html(ago(minutes=5))
    assert html == (
        '<time datetime="2026-12-03T13:55:00Z" title="Thu 3 Dec 2026, 14:55 CET" data-relative>5 min ago</time>'
    )
    assert when_html(dt.date(2026, 12, 4)) == (
        '<time datetime="2026-12-04" title="Fri 4 Dec 2026" data-relative>tomorrow</time>'
    )


def test_it_renders_nothing_for_a_missing_value_and_refuses_other_types():
    assert when_html(None) == ""
    assert when_html("") == ""
    with pytest.raises(TypeError):
        when_html("2026-12-03")


def test_it_takes_a_naive_datetime_to_be_in_the_active_zone():
    assert when_html(dt.datetime(2026, 12, 3, 14, 55)).startswith('<time datetime="2026-12-03T13:55:00Z"')


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0 s"),
        (42, "42 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h"),
        (12_000, "3 h 20 min"),
        (86_400, "1 day"),
        (100_800, "1 day 4 h"),
        (4 * 86_400, "4 days"),
    ],
)
def test_it_writes_durations_to_two_units(seconds, text):
    assert duration_text(NOW, NOW + dt.timedelta(seconds=seconds)) == text


def test_the_tags_are_on_every_template_without_loading_them():
    rendered = Template('{% when moment %}|{% when missing %}|{% duration a b %}|{% icon "x" %}').render(
        Context({"moment": ago(hours=2), "missing": None, "a": ago(hours=2), "b": NOW})
    )
    when, missing, took, icon = rendered.split("|")
    assert when.endswith(">2 h ago</time>")
    assert missing == ""
    assert took == "2 h"
    assert icon == '<svg class="icon" aria-hidden="true"><use href="/static/vendor/lucide/sprite.svg#x"></use></svg>'


def test_an_icon_with_a_label_is_read_out_and_a_size_is_checked():
    rendered = Template('{% icon "bell-off" label="Muted <b>" size="sm" %}').render(Context())
    assert rendered == (
        '<svg class="icon icon-sm" role="img" aria-label="Muted &lt;b&gt;"><title>Muted &lt;b&gt;</title>'
        '<use href="/static/vendor/lucide/sprite.svg#bell-off"></use></svg>'
    )
    with pytest.raises(TemplateSyntaxError):
        Template('{% icon "x" size="huge" %}').render(Context())


def test_every_icon_the_templates_use_is_in_the_vendored_sprite():
    sprite = (Path(settings.BASE_DIR) / "static" / "vendor" / "lucide" / "sprite.svg").read_text()
    available = set(re.findall(r'<symbol id="([a-z0-9-]+)"', sprite))
    used = {
        name
        for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        for name in re.findall(r'{% icon "([^"]+)"', template.read_text())
    }
    assert used, "no template uses {% icon %}"
    assert used <= available, f"not in static/vendor/lucide/sprite.svg: {sorted(used - available)}"


def test_no_template_draws_an_interface_icon_with_an_emoji_character():
    pictographs = re.compile("[\U0001f300-\U0001faff\u2190-\u21ff\u2600-\u27bf\u2630]")
    # The arrows in the floor map's SVG <title> are text.
    skipped = {"map.html"}
    found = [
        f"{template.relative_to(settings.BASE_DIR)}: {match.group()}"
        for template in (Path(settings.BASE_DIR) / "templates").rglob("*.html")
        if not skipped & set(template.parts)
        for match in pictographs.finditer(template.read_text())
    ]
    assert found == []


@pytest.mark.django_db
def test_a_live_chat_fragment_writes_its_time_in_the_organizations_zone(maria):
    from chat import services as chat_services

    channel = chat_services.create_channel(actor=maria, name="shift-handover")
    message = chat_services.send_message(sender=maria, conversation=channel, content="Line 2 is up again")
    with timezone.override(TOKYO):  # whatever zone the sender's process has active
        payload = chat_services.message_payload(message)
    assert (
        '<time datetime="2026-12-03T14:00:00Z" title="Thu 3 Dec 2026, 15:00 CET" data-relative>just now</time>'
        in (payload["html"])
    )


@pytest.mark.django_db
def test_the_activity_list_writes_due_dates_with_the_same_formatter(client_for, maria):
    from django.urls import reverse

    from activities import services as activity_services

    activity_services.create_activity(
        organization=maria.organization,
        actor=maria,
        title="Grease the coil roller",
        type="Maintenance",
        start_time=NOW,
        end_time=NOW + dt.timedelta(hours=3),
        priority="low",
    )
    page = client_for(maria).get(reverse("activities:list")).content.decode()
    assert '<time datetime="2026-12-03T17:00:00Z" title="Thu 3 Dec 2026, 18:00 CET" data-relative>in 3 h</time>' in page
