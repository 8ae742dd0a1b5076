"""Admin pieces for models that hold someone's personal data (used by accounts, orders, privacy).

Every admin page that shows customers' personal data writes the access log: an object's page
one row per person it shows, a list or search one row per person on the page shown. A test
(tests/privacy/test_access_log_completeness.py) opens every admin list and object page as each
staff role and fails when a customer's name or email is shown without a row."""

from ipmart.core.http import client_ip

from .models import AccessAction
from .services import log_access, log_access_many


class LogsPersonalDataViewsMixin:
    """Subclasses say whose data an object is (`access_subject`, or `access_subject_ids` for
    several people or to avoid a query per listed row) and how to name the page."""

    def access_subject(self, obj):
        raise NotImplementedError

    def access_subject_ids(self, obj) -> list[int]:
        subject = self.access_subject(obj)
        return [subject.pk] if subject is not None else []

    def access_detail(self, obj) -> str:
        return f"admin {obj._meta.verbose_name}"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            self._log_object_view(request, response.context_data["original"])
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if response.status_code == 200 and getattr(response, "context_data", None):
            self._log_object_view(request, response.context_data["object"], page="history")
        return response

    def _log_object_view(self, request, obj, *, page: str = "") -> None:
        subject_ids = self.access_subject_ids(obj)
        detail = f"{self.access_detail(obj)} {page}".strip()
        primary = self.access_subject(obj) if len(subject_ids) == 1 else None
        if primary is not None or not subject_ids:  # one customer, or a guest without account
            log_access(
                request.user,
                action=AccessAction.VIEWED,
                target=obj,
                subject=primary,
                ip_address=client_ip(request),
                detail=detail,
            )
        elif subject_ids:
            log_access_many(
                request.user,
                action=AccessAction.VIEWED,
                target_type=obj._meta.label_lower,
                subject_ids=subject_ids,
                ip_address=client_ip(request),
                detail=detail,
            )

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if request.method == "GET" and response.status_code == 200 and changelist is not None:
            subject_ids = [
                pk for obj in changelist.result_list for pk in self.access_subject_ids(obj) if pk
            ]
            if subject_ids:
                what = str(self.model._meta.verbose_name_plural)
                searched = " (search)" if changelist.query else ""
                log_access_many(
                    request.user,
                    action=AccessAction.VIEWED,
                    target_type=self.model._meta.label_lower,
                    subject_ids=subject_ids,
                    ip_address=client_ip(request),
                    detail=f"admin list of {what}{searched}",
                )
        return response
