"""Staff roles, defined in code. Each role is a Django group holding only the permissions its work
needs; `sync_roles` makes the database match this table and is run by migrations (a later app
that adds models for a role adds a migration that calls it again). A test compares the groups in
the database with this table, so a permission granted by hand in admin shows up as a failure."""

from django.contrib.auth.management import create_permissions

VERIFICATION_REVIEWER = "verification reviewer"
SUPPORT_AGENT = "support agent"
MARKETING_MANAGER = "marketing manager"
STORE_MANAGER = "store manager"
DATA_PROTECTION_OFFICER = "data protection officer"

ROLE_PERMISSIONS: dict[str, set[str]] = {
    # Reviews proof-of-payment documents: sees only the orders awaiting verification (their
    # lines, payment facts and documents, through the verification queue), opens documents and
    # decides on them; no customer list, no other order.
    VERIFICATION_REVIEWER: {
        "orders.view_orderawaitingverification",
        "orders.open_verificationdocument",
        "orders.decide_verificationdocument",
    },
    # Answers inquiries: looks customers and their addresses up; never changes them.
    SUPPORT_AGENT: {
        "accounts.view_user",
        "accounts.view_address",
        "orders.view_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_shipment",
        "orders.view_verificationdocument",
        # Customer service (issue 9): the queue, threads, canned replies, FAQ, held emails.
        "support.view_inquiry",
        "support.change_inquiry",
        "support.view_macro",
        "support.add_macro",
        "support.change_macro",
        "support.view_faqtopic",
        "support.add_faqtopic",
        "support.change_faqtopic",
        "support.view_faqentry",
        "support.add_faqentry",
        "support.change_faqentry",
        "support.view_inboundemail",
        "support.change_inboundemail",
    },
    # Runs promotional campaigns: topics (their wording is versioned), campaigns; reads the
    # consent ledger and the suppression list (never changes them).
    MARKETING_MANAGER: {
        "marketing.view_topic",
        "marketing.add_topic",
        "marketing.change_topic",
        "marketing.view_topicversion",
        "marketing.view_campaign",
        "marketing.add_campaign",
        "marketing.change_campaign",
        "marketing.view_consentrecord",
        "marketing.view_suppression",
    },
    # Runs the shop: catalogue, key pools, tax rates, orders (ship, refund), customers
    # (read-only), the privacy policy's versions, the access log, the disclosure register,
    # the outbox messages (read-only).
    STORE_MANAGER: {
        "orders.view_category",
        "orders.add_category",
        "orders.change_category",
        "orders.view_product",
        "orders.add_product",
        "orders.change_product",
        "orders.view_licencekey",
        "orders.add_licencekey",
        "orders.view_taxrate",
        "orders.change_taxrate",
        "orders.view_shippingmethod",
        "orders.add_shippingmethod",
        "orders.change_shippingmethod",
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderline",
        "orders.view_orderevent",
        "orders.view_paymentattempt",
        "orders.view_shipment",
        "orders.add_shipment",
        "orders.view_refund",
        "orders.add_refund",
        "orders.view_verificationdocument",
        "privacy.view_disclosure",
        "accounts.view_user",
        "accounts.view_address",
        "privacy.view_policyversion",
        "privacy.add_policyversion",
        "privacy.change_policyversion",
        "privacy.view_accesslog",
        "core.view_outboxmessage",
        "core.view_staffchange",
    },
    # Handles data requests and privacy complaints, keeps the breach register, answers for the
    # access log and disclosures (PDPA 2024). Looks customers up; never edits orders.
    DATA_PROTECTION_OFFICER: {
        "accounts.view_user",
        "accounts.view_address",
        "orders.view_order",
        "orders.view_orderline",
        "privacy.view_datarequest",
        "privacy.change_datarequest",
        "privacy.view_breach",
        "privacy.add_breach",
        "privacy.change_breach",
        "privacy.view_breachaffected",
        "privacy.view_accesslog",
        "privacy.view_disclosure",
        "privacy.view_policyversion",
        "support.view_inquiry",
        "support.change_inquiry",
        "support.handle_restricted_inquiry",
        "support.view_macro",
        "support.view_inboundemail",
        "support.change_inboundemail",
    },
}


def sync_roles(apps) -> None:
    """Create the role groups and set each one's permissions to exactly ROLE_PERMISSIONS.

    `apps` is the migration's app registry (or django.apps.apps). Permissions of models that do
    not exist yet are skipped; the migration that creates those models calls this again.
    """
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for app_config in apps.get_app_configs():
        # Migration state apps have no models_module, which create_permissions would skip.
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        try:
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = original
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for dotted in sorted(codenames):
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                wanted.append(permission)
        group.permissions.set(wanted)
