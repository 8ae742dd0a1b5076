from functools import lru_cache

import markdown as markdown_lib
import nh3
from django import template
from django.utils.safestring import mark_safe

register = template.Library()

_ALLOWED_TAGS = {
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "em",
    "a",
    "blockquote",
    "hr",
    "br",
    "code",
}


@lru_cache(maxsize=32)
def _render(text: str) -> str:
    html = markdown_lib.markdown(text, extensions=["sane_lists"])
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener",
    )


@register.filter
def markdown(text: str) -> str:
    """Markdown to HTML with only structural tags kept (policy text is staff-written, but the
    page must never run script whoever wrote it)."""
    return mark_safe(_render(text or ""))  # noqa: S308 - sanitised by nh3 above


@register.filter
def attr_body(policy, language: str) -> str:
    """`policy|attr_body:"ms"`: the policy's text in that language."""
    return policy.body_for(language)
