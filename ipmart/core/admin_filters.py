"""Admin list filters that work under the strict CSP (no script): a date range typed into two
date inputs and sent with a button. Written here instead of django-admin-rangefilter, whose
widgets need the admin's calendar script and an inline initialiser."""

import datetime

from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DateRangeFilter(admin.FieldListFilter):
    """`list_filter = [("placed_at", DateRangeFilter)]`: from and to (inclusive) dates."""

    template = "admin/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.lookup_since = f"{field_path}__range_since"
        self.lookup_until = f"{field_path}__range_until"
        super().__init__(field, request, params, model, model_admin, field_path)
        # FieldListFilter has moved our parameters from `params` to `used_parameters`.
        self.since = self._date(self.used_parameters.get(self.lookup_since))
        self.until = self._date(self.used_parameters.get(self.lookup_until))
        self.title = getattr(field, "verbose_name", field_path)

    @staticmethod
    def _date(value):
        if isinstance(value, list):
            value = value[-1] if value else None
        if not value:
            return None
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return None

    def expected_parameters(self):
        return [self.lookup_since, self.lookup_until]

    def has_output(self) -> bool:
        return True

    def _start_of(self, day: datetime.date) -> datetime.datetime:
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

    def queryset(self, request, queryset):
        if self.since:
            queryset = queryset.filter(**{f"{self.field_path}__gte": self._start_of(self.since)})
        if self.until:
            next_day = self.until + datetime.timedelta(days=1)
            queryset = queryset.filter(**{f"{self.field_path}__lt": self._start_of(next_day)})
        return queryset

    def choices(self, changelist):
        # One pseudo-choice carrying what the template needs: the other query parameters to
        # keep as hidden inputs, the current values, and the link that clears this filter.
        keep = [
            (key, value)
            for key, values in changelist.params.items()
            if key not in self.expected_parameters()
            for value in (values if isinstance(values, list) else [values])
        ]
        yield {
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "since_name": self.lookup_since,
            "until_name": self.lookup_until,
            "keep": keep,
            "clear_url": changelist.get_query_string(remove=self.expected_parameters()),
            "active": bool(self.since or self.until),
            "label_from": _("From"),
            "label_to": _("To (inclusive)"),
        }
