"""The FAQ page: published entries by topic in the visitor's language (English without a
translation), search (full text on PostgreSQL, a simple match on SQLite), contact facts."""

import pytest

from support.faq import search_faq
from tests.factories import FaqEntryFactory, FaqTopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(db):
    from support.models import FaqEntry, FaqTopic

    FaqEntry.objects.all().delete()  # the starter FAQ of the data migration
    FaqTopic.objects.all().delete()
    topic = FaqTopicFactory(name="Licence keys", name_ms="Kunci lesen")
    return {
        "key": FaqEntryFactory(
            topic=topic,
            question="Where do I find my licence key?",
            answer="Your keys are in the payment email.",
            question_ms="Di manakah kunci lesen saya?",
            answer_ms="Kunci anda ada dalam e-mel bayaran.",
        ),
        "english only": FaqEntryFactory(
            topic=topic,
            question="Can I move a licence to a new computer?",
            answer="Yes, deactivate it on the old one first.",
            question_ms="",
            answer_ms="",
        ),
        "draft": FaqEntryFactory(
            topic=topic, question="Secret draft question", answer="Draft", is_published=False
        ),
    }


def test_the_page_shows_published_entries_and_the_contact_facts(client, entries, settings):
    settings.SUPPORT_PHONE_NUMBERS = ["+60 3-1111 2222", "+60 3-3333 4444"]
    settings.SUPPORT_POSTAL_ADDRESS = "Lot 1, Jalan Contoh, 50000 Kuala Lumpur"
    html = client.get("/support/").content.decode()
    assert "Where do I find my licence key?" in html
    assert "Secret draft question" not in html
    assert "+60 3-1111 2222" in html and "+60 3-3333 4444" in html
    assert "Lot 1, Jalan Contoh, 50000 Kuala Lumpur" in html
    assert "support@ipmart.com.my" in html


def test_malay_visitors_see_malay_and_english_where_there_is_no_translation(client, entries):
    client.cookies["django_language"] = "ms"
    html = client.get("/support/", HTTP_ACCEPT_LANGUAGE="ms").content.decode()
    assert "Di manakah kunci lesen saya?" in html and "Kunci lesen" in html
    assert "Can I move a licence to a new computer?" in html


@pytest.mark.parametrize(
    "query, language, found",
    [
        ("licence key", "en", ["key"]),
        ("keys", "en", ["key"]),
        ("computer", "en", ["english only"]),
        ("kunci", "ms", ["key"]),
        ("draft", "en", []),
        ("nothing-like-this", "en", []),
        ("", "en", []),
    ],
)
def test_search(entries, query, language, found):
    results = search_faq(query, language)
    assert [e.pk for e in results] == [entries[name].pk for name in found]


def test_search_from_the_page_shows_the_answer_and_a_link_to_ask(client, entries):
    html = client.get("/support/", {"q": "licence key"}).content.decode()
    assert "Your keys are in the payment email." in html
    assert "No: ask us" in html and "/support/ask/" in html
