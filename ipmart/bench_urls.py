"""The store's URLs plus /_bench/bare, a view that does nothing: the yardstick `make bench`
divides every page's throughput by."""

from django.http import HttpResponse
from django.urls import path

from ipmart.urls import urlpatterns as store_urlpatterns


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("_bench/bare", bare), *store_urlpatterns]
