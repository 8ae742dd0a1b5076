"""Template tags for the admin: the per-role home and money in ringgit."""

from django import template
from django.urls import reverse

from ipmart.core import dashboard
from ipmart.core.models import StaffChange
from ipmart.core.money import format_ringgit

register = template.Library()

RECENT_CHANGES = 8


@register.filter
def ringgit(amount_sen):
    return format_ringgit(amount_sen)


@register.simple_tag
def staff_home(user) -> dict:
    """What the admin home shows `user`: counts and charts of the apps (each for the roles its
    provider names) and the user's own recent changes."""
    can_view_trail = user.has_perm("core.view_staffchange")
    trail_url = reverse("admin:core_staffchange_changelist")
    return {
        "counts": dashboard.counts_for(user),
        "charts": dashboard.charts_for(user),
        "recent": list(
            StaffChange.objects.filter(actor=user).select_related("content_type")[:RECENT_CHANGES]
        ),
        "trail_url": f"{trail_url}?actor__id__exact={user.pk}" if can_view_trail else "",
    }
