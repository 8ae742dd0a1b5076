"""Data requests on the admin home (see ipmart.core.dashboard)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from ipmart.core.dashboard import Count, register_counts

from .models import DataRequest


@register_counts(permission="privacy.view_datarequest", order=50)
def data_request_counts(user) -> list[Count]:
    from .admin import DUE_SOON_DAYS, due_soon

    soon = due_soon(DataRequest.objects.all()).count()
    url = reverse("admin:privacy_datarequest_changelist") + "?due=soon"
    return [
        Count(
            _("Open data requests due within %(n)d days") % {"n": DUE_SOON_DAYS},
            soon,
            url,
            permission="privacy.view_datarequest",
        )
    ]
