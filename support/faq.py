"""Reading the FAQ: published entries grouped by topic, and search over questions and answers
(PostgreSQL full-text search on PostgreSQL, a simple case-insensitive match elsewhere)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q

from .models import FaqEntry

MAX_QUERY_CHARS = 100


def _in(entries, language: str) -> list[FaqEntry]:
    """Set `shown_question` and `shown_answer`: the language's text, English without one."""
    entries = list(entries)
    for entry in entries:
        entry.shown_question = entry.question_in(language)
        entry.shown_answer = entry.answer_in(language)
    return entries


def topics_with_entries(language: str) -> list[dict]:
    """[{"topic": name, "entries": [entry, …]}, …] in admin's order, in one query."""
    grouped: dict[int, dict] = {}
    for entry in _in(FaqEntry.objects.published().select_related("topic"), language):
        group = grouped.setdefault(
            entry.topic_id, {"topic": entry.topic.name_in(language), "entries": []}
        )
        group["entries"].append(entry)
    return list(grouped.values())


def search_faq(query: str, language: str, *, limit: int = 20) -> list[FaqEntry]:
    query = " ".join((query or "").split())[:MAX_QUERY_CHARS]
    if not query:
        return []
    entries = FaqEntry.objects.published().select_related("topic")
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        # English words are stemmed; Malay has no PostgreSQL dictionary, so "simple".
        config = "english" if language == "en" else "simple"
        vector = (
            SearchVector("question", weight="A", config=config)
            + SearchVector("question_ms", weight="A", config=config)
            + SearchVector("answer", weight="B", config=config)
            + SearchVector("answer_ms", weight="B", config=config)
        )
        search = SearchQuery(query, config=config, search_type="websearch")
        # Filter on the match (@@): ts_rank gives non-matching rows a tiny non-zero rank.
        return _in(
            entries.annotate(document=vector, rank=SearchRank(vector, search))
            .filter(document=search)
            .order_by("-rank", "pk")[:limit],
            language,
        )
    matches = Q()
    for word in query.split()[:8]:
        matches &= (
            Q(question__icontains=word)
            | Q(answer__icontains=word)
            | Q(question_ms__icontains=word)
            | Q(answer_ms__icontains=word)
        )
    return _in(
        entries.filter(matches).order_by("topic__position", "position", "pk")[:limit], language
    )
