"""The store's URLs plus one view that fails, to see the production 500 page."""

import logging

from django.urls import path

from ipmart.urls import handler500  # noqa: F401  (Django reads it from the root URLconf)
from ipmart.urls import urlpatterns as store_urlpatterns


def boom(request):
    logging.getLogger("ipmart.test").error("about to fail")
    raise RuntimeError("a bug")


urlpatterns = [*store_urlpatterns, path("boom/", boom)]
