"""Campaigns on the admin home (see ipmart.core.dashboard)."""

from django.urls import reverse
from django.utils.translation import gettext as _

from ipmart.core.dashboard import Count, register_counts

from .models import Campaign, CampaignStatus


@register_counts(permission="marketing.view_campaign", order=40)
def campaign_counts(user) -> list[Count]:
    sending = Campaign.objects.filter(status=CampaignStatus.SENDING).count()
    url = (
        reverse("admin:marketing_campaign_changelist") + f"?status__exact={CampaignStatus.SENDING}"
    )
    # Sending is progress, not a problem: shown calm.
    return [
        Count(
            _("Campaigns sending"),
            sending,
            url,
            permission="marketing.view_campaign",
            urgent=False,
        )
    ]
