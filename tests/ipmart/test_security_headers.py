"""Security headers on HTML pages, and the templates keep to the Content-Security-Policy: no
inline script or style, nothing loaded from another host."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.factories import CustomerFactory

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"

PUBLIC_PAGES = ["/", "/privacy/", "/privacy/versions/", "/accounts/login/", "/accounts/signup/"]


def _csp(response) -> dict[str, str]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_an_html_page_carries_the_security_headers(client, path):
    # when
    response = client.get(path)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    csp = _csp(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    # forms post to the store itself; checkout's answer redirects to the gateway's hosted page
    assert csp["form-action"] == "'self' http://127.0.0.1:8001"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Permissions-Policy"] == (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
    )


@pytest.mark.django_db
def test_a_page_about_a_logged_in_person_is_not_cached(client):
    # given
    client.force_login(CustomerFactory())
    # when
    response = client.get("/account/")
    # then
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert _csp(response)["script-src"] == "'self'"


def _template_files() -> list[Path]:
    files = sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt"))
    assert files, "no templates found"
    return files


SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style\b|<[^>]*\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_inline_script_or_event_handlers():
    # when
    offending = []
    for path in _template_files():
        text = path.read_text(encoding="utf-8")
        for match in SCRIPT_TAG.finditer(text):
            attributes = match.group(1)
            is_data = re.search(r'type\s*=\s*"application/(ld\+)?json"', attributes)
            if not re.search(r"\bsrc\s*=", attributes) and not is_data:
                offending.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
        offending += [
            f"{path.relative_to(ROOT)}: {m.group(0)}" for m in INLINE_HANDLER.finditer(text)
        ]
    # then
    assert offending == []


def _is_email(path: Path) -> bool:
    """Email bodies (`email/` folders) are read in mail programs, which need inline styles and
    never see the site's CSP; they still may not hold script (the test above)."""
    return "email" in path.relative_to(TEMPLATES).parts[:-1]


def test_no_template_has_inline_style():
    # when
    offending = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in _template_files()
        if not _is_email(path)
        for match in INLINE_STYLE.finditer(path.read_text(encoding="utf-8"))
    ]
    # then
    assert offending == []


class _AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link" and attributes.get("href"):
            self.assets.append(attributes["href"])
        elif tag == "script" and attributes.get("src"):
            self.assets.append(attributes["src"])


def _assets(html: str) -> list[str]:
    collector = _AssetCollector()
    collector.feed(html)
    return collector.assets


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*PUBLIC_PAGES, "/account/"])
def test_no_page_loads_css_js_or_fonts_from_another_host(client, path):
    # given
    if path == "/account/":
        client.force_login(CustomerFactory())
    # when
    response = client.get(path)
    # then
    assert response.status_code == 200
    assets = _assets(response.content.decode())
    assert "/static/css/store.css" in assets
    assert [asset for asset in assets if not asset.startswith("/static/")] == []


def test_the_stylesheets_import_nothing_from_another_host():
    # given
    stylesheets = sorted(STATIC.rglob("*.css"))
    assert stylesheets
    # when
    external = [
        f"{path.relative_to(ROOT)}: {reference}"
        for path in stylesheets
        for reference in re.findall(
            r"""(?:url\(\s*['"]?|@import\s+['"])((?:[a-z]+:)?//[^'")\s]+)""",
            path.read_text(encoding="utf-8"),
            re.IGNORECASE,
        )
    ]
    # then
    assert external == []
