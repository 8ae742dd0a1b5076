"""What marketing holds about a person (discovered by privacy.registry)."""

from django.utils.translation import gettext_lazy as _

DECLARATIONS = [
    {
        "model": "marketing.Subscriber",
        "summary": _("Which email topics you chose, and when you confirmed them."),
        "fields": ["public_id", "created_at"],
        "category": _("Marketing preferences"),
        "on_closure": "anonymise",
        "keep_reason": _(
            "The consent ledger must still prove what was agreed; the link to the account is removed."
        ),
        "retention_setting": "",
    },
    {
        "model": "marketing.Subscription",
        "fields": ["topic", "status", "ip_address", "updated_at", "confirmed_at"],
        "category": _("Marketing preferences"),
        "on_closure": "erase",
        "keep_reason": "",
        "retention_setting": "",
    },
    {
        "model": "marketing.ConsentRecord",
        "summary": _(
            "Each time you agreed to or withdrew from marketing email: when, how, the topic and "
            "the wording you saw."
        ),
        "fields": ["at", "topic", "text_hash", "action", "method", "ip_address"],
        "category": _("Consent to marketing email (ledger)"),
        "on_closure": "keep",
        "keep_reason": _("Proof of consent and of its withdrawal (PDPA, GDPR art. 7(1))."),
        "retention_setting": "",
    },
    {
        "model": "marketing.Suppression",
        "summary": _(
            "A scrambled form of your email address, if you unsubscribed from everything, and why."
        ),
        "fields": ["reason", "created_at"],
        "category": _("Addresses we must never send promotional email to"),
        "on_closure": "keep",
        "keep_reason": _(
            "Only a keyed hash of the address is kept, so that nobody who left or unsubscribed is mailed again."
        ),
        "retention_setting": "",
    },
    {
        "model": "marketing.Delivery",
        "summary": _("Which promotional emails we sent you, and whether they were delivered."),
        "fields": ["campaign", "status", "sent_at"],
        "category": _("Promotional emails sent to you"),
        "on_closure": "anonymise",
        "keep_reason": _("Campaign counts stay correct; the rows no longer point at the person."),
        "retention_setting": "",
    },
]

# Written by staff for everyone, never about a customer.
NO_PERSONAL_DATA = {
    "marketing.TopicVersion": "the wording of a topic's consent text, written by staff",
    "marketing.Campaign": "a campaign's text, written by staff; created_by is the staff author",
}


def export_user(user) -> dict[str, list[dict]]:
    """This app's rows about `user`, JSON-ready, keyed by model name."""
    from .models import ConsentRecord, Delivery, Subscriber, Subscription, Suppression
    from .suppression import email_hash

    suppressions = [
        {"reason": s.reason, "created_at": s.created_at.isoformat()}
        for s in Suppression.objects.filter(email_hash=email_hash(user.email))
    ]
    subscriber = Subscriber.objects.filter(user=user).first()
    if subscriber is None:
        return {"Suppression": suppressions} if suppressions else {}
    return {
        "Suppression": suppressions,
        "Subscriber": [
            {
                "public_id": str(subscriber.public_id),
                "created_at": subscriber.created_at.isoformat(),
            }
        ],
        "Subscription": [
            {
                "topic": s.topic.code,
                "status": s.status,
                "ip_address": s.ip_address,
                "updated_at": s.updated_at.isoformat(),
                "confirmed_at": s.confirmed_at.isoformat() if s.confirmed_at else None,
            }
            for s in Subscription.objects.filter(subscriber=subscriber).select_related("topic")
        ],
        "ConsentRecord": [
            {
                "at": r.at.isoformat(),
                "topic": r.topic.code,
                "text_hash": r.text_hash,
                "action": r.action,
                "method": r.method,
                "ip_address": r.ip_address,
            }
            for r in ConsentRecord.objects.filter(subscriber=subscriber)
            .select_related("topic")
            .order_by("at", "id")
        ],
        "Delivery": [
            {
                "campaign": d.campaign.name,
                "status": d.status,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None,
            }
            for d in Delivery.objects.filter(subscriber=subscriber).select_related("campaign")
        ],
    }


def erase_user(user) -> None:
    """Account closure (inside its transaction): every consent is withdrawn with method
    "account closure", the address goes on the suppression list (HMAC only), subscriptions are
    deleted and the subscriber row (still referenced by the ledger and deliveries) is detached
    from the account."""
    from ipmart.core.erasure import identifiers_of, scrub_rows

    from .models import Delivery
    from .services import close_subscriber

    # An SMTP error or skip reason may quote the address: cleaned before the subscriber is
    # detached from the account.
    scrub_rows(
        Delivery.objects.filter(subscriber__user=user),
        ["error", "skip_reason"],
        identifiers_of(user),
    )
    close_subscriber(user)


def consent_history(user) -> list[dict]:
    """The person's consent ledger in plain words, shown to them (newest first)."""
    from django.utils.translation import get_language

    from .models import ConsentRecord

    language = get_language() or "en"
    records = (
        ConsentRecord.objects.filter(subscriber__user=user)
        .select_related("topic__current_version")
        .order_by("-at", "-id")
    )
    return [
        {
            "at": record.at,
            "topic": record.topic.name_for(language),
            "action": record.get_action_display(),
            "source": record.get_method_display(),
        }
        for record in records
    ]


def stop_direct_marketing(user) -> int:
    """PDPA s. 43 notice ("stop all direct marketing"): every topic withdrawn at once and the
    address suppressed. Returns how many topics were withdrawn."""
    from .models import ConsentMethod, Subscriber
    from .services import unsubscribe_all

    subscriber = Subscriber.objects.filter(user=user).first()
    if subscriber is None:
        return 0
    return unsubscribe_all(subscriber, method=ConsentMethod.PREFERENCE_CENTRE, actor=user)
