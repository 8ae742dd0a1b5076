"""`{% layout_fragment "name" vary1 vary2 … %}…{% endlayout_fragment %}`: a part of the site's
layout (header, footer) rendered once per process for each combination of the `vary` values,
then copied into every page that shows it.

Rendering the header and footer was the largest part of rendering a logged-in customer's cart
or order list (issue 13): two dozen translations, the language forms, links and static URLs,
the same on every page. What they show depends only on a few values (the language, whether
someone is signed in, whether they are staff, the cart's item count), which must all be named
as `vary` values; nothing in a fragment may show anything else about the visitor.

Two things differ per request and are filled in after the copy, never stored:
- `{% csrf_token %}` renders a placeholder inside a fragment; each response gets what the tag
  renders on the page itself (this visitor's own masked token, or the anonymous page cache's
  placeholder while a page renders for that cache, or nothing without a request).
- `{{ page_path }}` is the request's full path (escaped), e.g. a form's `next` field.

Entries live in the template node (so a template reloaded in development starts empty), at most
MAX_ENTRIES per fragment, least recently used out first; `forget_layout_fragments()` empties
them all (tests, and any change of settings)."""

import threading
import weakref
from collections import OrderedDict

from django import template
from django.core.signals import setting_changed
from django.template.defaulttags import CsrfTokenNode
from django.template.loader_tags import BlockNode
from django.utils.html import conditional_escape

register = template.Library()

CSRF_MARK = "__layout_fragment_csrf_token__"
PATH_MARK = "__layout_fragment_page_path__"
MAX_ENTRIES = 64
# The input `{% csrf_token %}` renders for the placeholder: replaced as a whole.
_CSRF_INPUT = f'<input type="hidden" name="csrfmiddlewaretoken" value="{CSRF_MARK}">'

_nodes: "weakref.WeakSet[LayoutFragmentNode]" = weakref.WeakSet()


class LayoutFragmentNode(template.Node):
    # Not searched for `{% block %}`s (a page could not change a block inside a fragment anyway)
    # and not walked through by `{% extends %}` on every render.
    child_nodelists = ()

    def __init__(self, nodelist, name: str, vary: list[template.base.FilterExpression]):
        self.nodelist = nodelist
        self.name = name
        self.vary = vary
        self._entries: OrderedDict[tuple, str] = OrderedDict()
        self._lock = threading.Lock()
        _nodes.add(self)

    def render(self, context) -> str:
        key = tuple(expression.resolve(context) for expression in self.vary)
        with self._lock:
            text = self._entries.get(key)
            if text is not None:
                self._entries.move_to_end(key)
        if text is None:
            with context.push(csrf_token=CSRF_MARK, page_path=PATH_MARK):
                text = self.nodelist.render(context)
            with self._lock:
                self._entries[key] = text
                while len(self._entries) > MAX_ENTRIES:
                    self._entries.popitem(last=False)
        if _CSRF_INPUT in text:
            text = text.replace(_CSRF_INPUT, CsrfTokenNode().render(context))
        if PATH_MARK in text:
            request = context.get("request")
            path = request.get_full_path() if request is not None else ""
            text = text.replace(PATH_MARK, conditional_escape(path))
        return text

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()


@register.tag
def layout_fragment(parser, token):
    bits = token.split_contents()
    if len(bits) < 2:
        raise template.TemplateSyntaxError(f"{bits[0]} needs a name")
    nodelist = parser.parse(("endlayout_fragment",))
    parser.delete_first_token()
    if nodelist.get_nodes_by_type(BlockNode):
        raise template.TemplateSyntaxError(f"{bits[0]} cannot hold a {{% block %}}")
    name = bits[1].strip("\"'")
    vary = [parser.compile_filter(bit) for bit in bits[2:]]
    return LayoutFragmentNode(nodelist, name, vary)


def forget_layout_fragments(**kwargs) -> None:
    """Empty every fragment's entries (a changed setting may change what they show)."""
    for node in list(_nodes):
        node.forget()


setting_changed.connect(forget_layout_fragments)
