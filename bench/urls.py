from django.http import HttpResponse
from django.urls import path

from nexus.urls import urlpatterns as nexus_urlpatterns


def trivial(request):
    """The baseline: what the same server does with a view that does nothing."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/trivial/", trivial), *nexus_urlpatterns]
