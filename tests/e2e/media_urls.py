"""The store's URLs plus the media files, for browser tests that need product images served
(the live server serves static files only)."""

from django.conf import settings
from django.urls import re_path
from django.views.static import serve

from ipmart.urls import urlpatterns as store_urlpatterns

urlpatterns = [
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    *store_urlpatterns,
]
