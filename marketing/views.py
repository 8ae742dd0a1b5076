"""Signed marketing links under /m/ (no login: the token is the credential) and the preference
centre in /account/marketing/."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from ipmart.core.http import client_ip

from . import services
from .forms import PreferencesForm
from .models import ConsentMethod, Topic
from .selectors import get_subscriber, mask_email, offered_topics, topics_on
from .tokens import (
    BadToken,
    make_preferences_token,
    read_confirm_token,
    read_preferences_token,
    read_unsubscribe_token,
)

ONE_CLICK_VALUE = "One-Click"


@csrf_exempt  # RFC 8058: the mail provider's POST carries no cookie, session or CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """The List-Unsubscribe URL and the footer link. POST (a mail client's one-click, or this
    page's button) unsubscribes the topic at once and answers 200, never a redirect; GET and
    HEAD change nothing (link scanners)."""
    try:
        claim = read_unsubscribe_token(token)
    except BadToken:
        if request.method == "POST":
            return HttpResponseBadRequest(_("This unsubscribe link is not valid."))
        return render(request, "marketing/link_invalid.html", status=400)
    subscriber = get_subscriber(claim.public_id)
    topic = Topic.objects.filter(code=claim.topic_code).select_related("current_version").first()
    if request.method == "POST":
        if subscriber is not None and topic is not None:
            one_click = request.POST.get("List-Unsubscribe") == ONE_CLICK_VALUE
            services.unsubscribe_topic(
                subscriber,
                topic=topic,
                method=ConsentMethod.ONE_CLICK if one_click else ConsentMethod.FOOTER_LINK,
                ip_address=client_ip(request),
            )
        return render(
            request,
            "marketing/unsubscribed.html",
            {"preferences_url": _preferences_link(subscriber)},
        )
    return render(
        request,
        "marketing/unsubscribe.html",
        {
            "topic_name": topic.name_for(get_language()) if topic else "",
            "preferences_url": _preferences_link(subscriber),
        },
    )


def _preferences_link(subscriber) -> str:
    if subscriber is None:
        return ""
    return reverse("marketing:preferences", args=[make_preferences_token(subscriber.public_id)])


@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request, token):
    """The preference centre reached from an email, without signing in. Turning a topic off is
    immediate; turning one on sends a confirmation email first."""
    try:
        subscriber = get_subscriber(read_preferences_token(token))
    except BadToken:
        subscriber = None
    if subscriber is None:
        return render(request, "marketing/link_invalid.html", status=400)
    language = get_language()
    topics = list(offered_topics())
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        topics=topics,
        language=language,
        subscribed=topics_on(subscriber),
    )
    ip = client_ip(request)
    if request.method == "POST":
        if "unsubscribe_all" in request.POST:
            services.unsubscribe_all(
                subscriber, method=ConsentMethod.PREFERENCE_CENTRE, ip_address=ip
            )
            messages.success(request, _("You will get no more promotional email from us."))
            return redirect(request.path)
        if form.is_valid():
            before = topics_on(subscriber)
            turn_on = [t for t, on in form.wanted().items() if on and t.pk not in before]
            for topic, on in form.wanted().items():
                if not on and topic.pk in before:
                    services.unsubscribe_topic(
                        subscriber,
                        topic=topic,
                        method=ConsentMethod.PREFERENCE_CENTRE,
                        ip_address=ip,
                    )
            if turn_on:
                services.request_subscriptions(
                    subscriber.user,
                    topics=turn_on,
                    method=ConsentMethod.PREFERENCE_CENTRE,
                    ip_address=ip,
                )
                messages.info(
                    request,
                    _("We sent you an email: confirm from it to start receiving these topics."),
                )
            messages.success(request, _("Your email preferences were saved."))
            return redirect(request.path)
    return render(
        request,
        "marketing/preferences.html",
        {"form": form, "masked_email": mask_email(subscriber.user.email)},
    )


@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    """Double opt-in. The emailed link opens a page; only its button (a POST) confirms, so a
    link scanner's GET changes nothing."""
    try:
        public_id, codes = read_confirm_token(token)
        subscriber = get_subscriber(public_id)
    except BadToken:
        subscriber = None
    if subscriber is None:
        return render(request, "marketing/link_invalid.html", status=400)
    topics = list(Topic.objects.filter(code__in=codes).select_related("current_version"))
    if request.method == "POST":
        confirmed = services.confirm_subscriptions(
            subscriber, topic_codes=codes, ip_address=client_ip(request)
        )
        return render(
            request,
            "marketing/confirmed.html",
            {
                "confirmed": confirmed,
                "preferences_url": _preferences_link(subscriber),
            },
        )
    return render(request, "marketing/confirm.html", {"topics": topics})


@login_required
def account_preferences(request):
    """The preference centre in /account/: the address is verified, so turning a topic on
    subscribes at once."""
    subscriber = services.subscriber_for(request.user)
    language = get_language()
    topics = list(offered_topics())
    form = PreferencesForm(
        request.POST if request.method == "POST" else None,
        topics=topics,
        language=language,
        subscribed=topics_on(subscriber),
    )
    ip = client_ip(request)
    if request.method == "POST":
        if "unsubscribe_all" in request.POST:
            services.unsubscribe_all(
                subscriber, method=ConsentMethod.PREFERENCE_CENTRE, ip_address=ip
            )
            messages.success(request, _("You will get no more promotional email from us."))
            return redirect("marketing_centre:preferences")
        if form.is_valid():
            before = topics_on(subscriber)
            for topic, on in form.wanted().items():
                if on and topic.pk not in before:
                    services.subscribe_topic(request.user, topic=topic, ip_address=ip)
                elif not on and topic.pk in before:
                    services.unsubscribe_topic(
                        subscriber,
                        topic=topic,
                        method=ConsentMethod.PREFERENCE_CENTRE,
                        ip_address=ip,
                    )
            messages.success(request, _("Your email preferences were saved."))
            return redirect("marketing_centre:preferences")
    return render(request, "marketing/account_preferences.html", {"form": form})
