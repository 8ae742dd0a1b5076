"""Catalogue search and sorting. On PostgreSQL: full-text search over both languages, ranked
(name A, summary B, description and activation notes C; English stemming for the English
fields, the simple configuration for Malay), plus a name substring match so a partial word
still finds the product (ranked last). On SQLite: a case-insensitive substring match."""

from django.db import connection
from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

SORTS = {
    "relevance": _("Relevance"),
    "price": _("Price: low to high"),
    "-price": _("Price: high to low"),
    "newest": _("Newest"),
}
DEFAULT_SORT = "relevance"
ORDERINGS = {
    "relevance": ("name", "id"),
    "price": ("price_sen", "name", "id"),
    "-price": ("-price_sen", "name", "id"),
    "newest": ("-created_at", "-id"),
}
MAX_QUERY_LENGTH = 100


def normalise_query(text: str) -> str:
    """Whitespace collapsed and trimmed, at most MAX_QUERY_LENGTH characters."""
    return " ".join(str(text or "").split())[:MAX_QUERY_LENGTH]


def _vector():
    from django.contrib.postgres.search import SearchVector

    english = {"config": "english"}
    simple = {"config": "simple"}
    return (
        SearchVector("name", weight="A", **english)
        + SearchVector("name_ms", weight="A", **simple)
        + SearchVector("summary", weight="B", **english)
        + SearchVector("summary_ms", weight="B", **simple)
        + SearchVector("description", "activation_notes", weight="C", **english)
        + SearchVector("description_ms", "activation_notes_ms", weight="C", **simple)
    )


def search_products(products: QuerySet, q: str, sort: str) -> QuerySet:
    """`products` matching `q` (both languages) in `sort` order ("relevance": best match
    first when there is a query, else by name)."""
    ordering = ORDERINGS.get(sort, ORDERINGS[DEFAULT_SORT])
    if (get_language() or "").startswith("ms"):
        # By the name the visitor reads: the Malay one where there is one.
        products = products.annotate(shown_name=Coalesce(NullIf("name_ms", Value("")), "name"))
        ordering = tuple("shown_name" if field == "name" else field for field in ordering)
    if not q:
        return products.order_by(*ordering)
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        query = SearchQuery(q, search_type="websearch", config="english") | SearchQuery(
            q, search_type="websearch", config="simple"
        )
        products = products.annotate(search=_vector()).filter(
            Q(search=query) | Q(name__icontains=q) | Q(name_ms__icontains=q)
        )
        if sort == DEFAULT_SORT:
            return products.annotate(rank=SearchRank(F("search"), query)).order_by(
                "-rank", *ordering
            )
        return products.order_by(*ordering)
    match = Q()
    for field in ("name", "name_ms", "summary", "summary_ms", "description", "description_ms"):
        match |= Q(**{f"{field}__icontains": q})
    return products.filter(match).order_by(*ordering)
