"""The board's columns: counts of every match, a page of cards at a time, and what a refresh keeps."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity, ActivityType, Status
from activities.selectors import BOARD_MAX_SHOWN, BOARD_PAGE_SIZE

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def planned(maria):
    """45 planned inspections and 3 completed ones, due one minute apart (the board's order is by due time)."""
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            organization=maria.organization,
            title=f"Job {n:02d}",
            type=ActivityType.INSPECTION,
            status=Status.COMPLETED if n >= 45 else Status.PLANNED,
            start_time=now,
            end_time=now + timedelta(minutes=n),
            created_by=maria,
        )
        for n in range(48)
    )


def _titles(html: str) -> list[str]:
    return re.findall(r'class="card-title" href="[^"]+">([^<]+)</a>', html)


def test_a_column_counts_every_match_and_shows_its_first_page(client_for, maria, planned):
    response = client_for(maria).get(reverse("activities:board"))
    columns = {column["status"]: column for column in response.context["columns"]}
    assert (columns["planned"]["count"], len(columns["planned"]["cards"])) == (45, BOARD_PAGE_SIZE)
    assert (columns["planned"]["more"], columns["completed"]["more"]) == (25, 0)
    html = response.content.decode()
    assert '<span class="board-count" data-testid="count-planned" title="45 matching">45</span>' in html
    tab = '<span class="tab-label">Planned</span> <span class="board-count">45</span>'
    assert f'data-testid="tab-planned">{tab}' in html
    # Without JavaScript, "load more" is the same board with a page more of that column.
    assert 'href="/activities/board/?shown=planned%3A40"' in html
    assert 'hx-get="/activities/board/?column=planned&amp;offset=20"' in html


def test_it_answers_the_next_cards_of_one_column(client_for, maria, planned):
    client = client_for(maria)
    second = client.get(reverse("activities:board") + "?column=planned&offset=20", **HTMX).content.decode()
    assert _titles(second) == [f"Job {n:02d}" for n in range(20, 40)]
    assert "<html" not in second and "offset=40" in second
    last = client.get(reverse("activities:board") + "?column=planned&offset=40", **HTMX).content.decode()
    assert _titles(last) == [f"Job {n:02d}" for n in range(40, 45)]
    assert "load-more" not in last and "Nothing here" not in last


def test_the_next_cards_keep_the_filters(client_for, maria, planned):
    url = reverse("activities:board") + "?q=Job+4&column=planned&offset=0"
    assert _titles(client_for(maria).get(url, **HTMX).content.decode()) == [f"Job {n}" for n in range(40, 45)]


def test_a_refresh_keeps_as_many_cards_as_were_loaded(client_for, maria, planned):
    response = client_for(maria).get(reverse("activities:board") + "?shown=planned:45,completed:3", **HTMX)
    columns = {column["status"]: column for column in response.context["columns"]}
    assert len(columns["planned"]["cards"]) == 45 and columns["planned"]["more"] == 0
    assert len(columns["in-progress"]["cards"]) == 0
    huge = client_for(maria).get(reverse("activities:board") + "?shown=planned:99999")
    assert huge.status_code == 200 and len(huge.context["columns"][0]["cards"]) <= BOARD_MAX_SHOWN


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("column=done-ish", "Unknown column"),
        ("column=planned&offset=-3", "offset must be a whole number"),
        ("column=planned&offset=lots", "offset must be a whole number"),
        ("column=planned&offset=99999999", "offset must be a whole number"),
        ("shown=planned", "shown must list"),
        ("shown=nowhere:5", "shown must list"),
    ],
)
def test_it_explains_bad_paging(client_for, maria, planned, query, message):
    response = client_for(maria).get(reverse("activities:board") + "?" + query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_next_cards_stay_in_the_organization(client_for, mallory, planned):
    html = client_for(mallory).get(reverse("activities:board") + "?column=planned&offset=0", **HTMX).content.decode()
    assert _titles(html) == []


def test_the_list_pager_links_keep_the_filters(client_for, maria, planned):
    html = client_for(maria).get(reverse("activities:list") + "?type=Inspection&sort=title").content.decode()
    assert 'href="?type=Inspection&amp;sort=title&amp;page=2"' in html


def test_the_next_cards_take_a_constant_number_of_queries(client_for, maria, planned):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(maria)
    url = reverse("activities:board") + "?column=planned&offset=0&sort=priority"
    client.get(url, **HTMX)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(url, **HTMX).status_code == 200
        return len(context.captured_queries)

    few = queries()
    now = timezone.now()
    Activity.objects.bulk_create(
        Activity(
            organization=maria.organization,
            title=f"More {n}",
            type=ActivityType.INSPECTION,
            start_time=now,
            end_time=now,
            created_by=maria,
        )
        for n in range(60)
    )
    assert queries() == few
