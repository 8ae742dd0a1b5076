"""Customer service on the admin home (see ipmart.core.dashboard)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from ipmart.core.dashboard import Count, register_counts

from .models import Inquiry


@register_counts(permission="support.view_inquiry", order=30)
def inquiry_counts(user) -> list[Count]:
    overdue = Inquiry.objects.with_due().filter(overdue=1).count()
    url = reverse("admin:support_inquiry_changelist") + "?due=overdue"
    return [Count(_("Inquiries overdue"), overdue, url, permission="support.view_inquiry")]
