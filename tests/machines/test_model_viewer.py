"""The hub's answer to "can the 3D model viewer load?": whether the server reaches sketchfab.com, remembered."""

import time
import urllib.error

import pytest
from django.core.cache import cache
from django.urls import reverse

from machines import selectors

URL = reverse("machines:model-viewer-reachable")


class Answer:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def probes(monkeypatch):
    """Each call of urlopen, answered by `probes.answer` (an exception is raised, anything else returned)."""

    class Probes(list):
        answer: object = None

    calls = Probes()

    def urlopen(request, timeout):
        calls.append((request.full_url, request.get_method(), timeout))
        if isinstance(calls.answer, BaseException):
            raise calls.answer
        return Answer()

    monkeypatch.setattr(selectors.urllib.request, "urlopen", urlopen)
    cache.delete(selectors.SKETCHFAB_CACHE_KEY)
    return calls


def test_it_says_reachable_when_sketchfab_answers_and_remembers_it(probes, client_for, carol):
    client = client_for(carol)
    assert client.get(URL).json() == {"reachable": True}
    assert client.get(URL).json() == {"reachable": True}
    assert probes == [("https://sketchfab.com/favicon.ico", "HEAD", selectors.SKETCHFAB_TIMEOUT)]


def test_it_counts_an_http_error_as_reachable(probes):
    probes.answer = urllib.error.HTTPError("https://sketchfab.com/favicon.ico", 404, "Not Found", {}, None)
    assert selectors.sketchfab_reachable() is True


@pytest.mark.parametrize(
    "failure", [urllib.error.URLError("Name or service not known"), TimeoutError("timed out"), ConnectionResetError()]
)
def test_it_says_unreachable_without_internet_and_remembers_that_too(probes, client_for, carol, failure):
    probes.answer = failure
    client = client_for(carol)
    assert client.get(URL).json() == {"reachable": False}
    assert client.get(URL).json() == {"reachable": False}
    assert len(probes) == 1


def test_it_answers_unreachable_when_the_probe_hangs(probes, monkeypatch):
    monkeypatch.setattr(selectors, "SKETCHFAB_WAIT", 0.05)
    monkeypatch.setattr(selectors, "_probe_sketchfab", lambda: time.sleep(0.3) or True)
    assert selectors.sketchfab_reachable() is False


def test_it_is_for_members_only_and_only_answers_get(probes, client, client_for, carol):
    assert client.get(URL).status_code == 302
    assert client_for(carol).post(URL).status_code == 405
    assert probes == []
