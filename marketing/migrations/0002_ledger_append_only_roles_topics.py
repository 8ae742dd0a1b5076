"""The consent ledger cannot be changed on PostgreSQL (a trigger refuses UPDATE and DELETE, as
for the access log); the marketing manager role gets its permissions; the topics the privacy
policy promises are seeded (their wording is version 1)."""

from django.db import migrations

from ipmart.core.append_only import AppendOnly

TOPICS = [
    (
        "new-products",
        "New products, features and enhancements",
        "Produk, ciri dan penambahbaikan baharu",
        "Tell me when IPmart has new products, new features or enhancements to the software I use.",
        "Beritahu saya apabila IPmart mempunyai produk baharu, ciri baharu atau penambahbaikan pada perisian yang saya gunakan.",
    ),
    (
        "special-offers",
        "Special offers and one-off promotions",
        "Tawaran istimewa dan promosi sekali sahaja",
        "Send me IPmart's special offers and one-off promotions.",
        "Hantarkan kepada saya tawaran istimewa dan promosi sekali sahaja IPmart.",
    ),
    (
        "contests-events",
        "Contests and events",
        "Peraduan dan acara",
        "Tell me about IPmart's contests and events.",
        "Beritahu saya tentang peraduan dan acara IPmart.",
    ),
    (
        "partner-offers",
        "Partners' offers (sent by IPmart only)",
        "Tawaran rakan kongsi (dihantar oleh IPmart sahaja)",
        "Send me offers from IPmart's partners. IPmart sends them itself and never gives my details to partners.",
        "Hantarkan kepada saya tawaran rakan kongsi IPmart. IPmart sendiri yang menghantarnya dan tidak sekali-kali memberikan butiran saya kepada rakan kongsi.",
    ),
]


def roles(apps, schema_editor):
    from accounts.roles import sync_roles

    sync_roles(apps)


def seed_topics(apps, schema_editor):
    from marketing.models import TopicVersion as LiveTopicVersion

    Topic = apps.get_model("marketing", "Topic")
    TopicVersion = apps.get_model("marketing", "TopicVersion")
    for position, (code, name_en, name_ms, text_en, text_ms) in enumerate(TOPICS):
        if Topic.objects.filter(code=code).exists():
            continue
        topic = Topic.objects.create(code=code, position=position, is_active=True)
        version = TopicVersion.objects.create(
            topic=topic,
            number=1,
            name_en=name_en,
            name_ms=name_ms,
            consent_text_en=text_en,
            consent_text_ms=text_ms,
            content_hash=LiveTopicVersion.hash_of(
                code=code, name_en=name_en, name_ms=name_ms, text_en=text_en, text_ms=text_ms
            ),
        )
        topic.current_version = version
        topic.save(update_fields=["current_version"])


class Migration(migrations.Migration):
    dependencies = [
        ("marketing", "0001_initial"),
        ("orders", "0002_tax_rates_and_roles"),
    ]

    operations = [
        AppendOnly("marketing_consentrecord", function="marketing_refuse_change"),
        migrations.RunPython(roles, migrations.RunPython.noop),
        migrations.RunPython(seed_topics, migrations.RunPython.noop),
    ]
