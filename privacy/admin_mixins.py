"""Admin pieces for models that hold someone's personal data (used by accounts and orders)."""

from ipmart.core.http import client_ip

from .models import AccessAction
from .services import log_access


class LogsPersonalDataViewsMixin:
    """Opening an object's admin page is a view of its subject's personal data: write one
    access log row per page shown. Subclasses say whose data it is and how to name it."""

    def access_subject(self, obj):
        raise NotImplementedError

    def access_detail(self, obj) -> str:
        return f"admin {obj._meta.verbose_name}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = response.context_data["original"]
            log_access(
                request.user,
                action=AccessAction.VIEWED,
                target=obj,
                subject=self.access_subject(obj),
                ip_address=client_ip(request),
                detail=self.access_detail(obj),
            )
        return response
