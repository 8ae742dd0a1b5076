"""The public policy pages (/privacy/…), the markdown filter, and accepting a new version."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import dateformat, timezone, translation

from privacy.models import AcceptanceMethod, PolicyAcceptance, PolicyVersion
from privacy.services import accept_policy
from privacy.templatetags.policy_markdown import markdown
from tests.factories import CustomerFactory, PolicyVersionFactory

pytestmark = pytest.mark.django_db

BANNER = "Our privacy policy has changed"
EN_TEXT = "<h2>Your data</h2>\n<p>We protect your data.</p>"
MS_TEXT = "<h2>Data anda</h2>\n<p>Kami melindungi data anda.</p>"


@pytest.fixture
def policy():
    """A published version in force today, newer than the seeded first policy."""
    return PolicyVersionFactory(
        published=True,
        effective_date=timezone.localdate(),
        body_en="## Your data\n\nWe protect your data.",
        body_ms="## Data anda\n\nKami melindungi data anda.",
    )


def _first_policy() -> PolicyVersion:
    return PolicyVersion.objects.get(version="2026-11-24")


def _english_date(policy: PolicyVersion) -> str:
    with translation.override("en"):
        return dateformat.format(policy.effective_date, "j F Y")


# --- reading the policy


def test_the_policy_page_shows_the_current_version_in_english_by_default(client, policy):
    # when
    response = client.get("/privacy/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<article class="policy" lang="en">' in html
    assert "<h1>Privacy Policy</h1>" in html
    assert EN_TEXT in html
    assert "Kami melindungi" not in html
    assert f"Version {policy.version}, effective {_english_date(policy)}" in html
    assert f"<code>{policy.content_hash}</code>" in html
    assert "This is not the version in force." not in html


def test_the_policy_page_shows_the_malay_text_with_lang_ms(client, policy):
    # when
    response = client.get("/privacy/?lang=ms")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert '<article class="policy" lang="ms">' in html
    assert "<h1>Dasar Privasi</h1>" in html
    assert MS_TEXT in html
    assert "We protect your data." not in html
    assert f"<code>{policy.content_hash}</code>" in html


def test_the_policy_page_follows_the_language_chosen_with_the_switcher(client, policy):
    # given
    switched = client.post("/i18n/setlang/", {"language": "ms", "next": "/privacy/"})
    assert switched.status_code == 302
    assert client.cookies["django_language"].value == "ms"
    # when
    response = client.get("/privacy/")
    # then
    html = response.content.decode()
    assert '<html lang="ms">' in html
    assert '<article class="policy" lang="ms">' in html
    assert MS_TEXT in html
    assert "We protect your data." not in html
    assert policy.version in html
    assert f"<code>{policy.content_hash}</code>" in html


def test_lang_en_overrides_the_chosen_language_for_the_text(client, policy):
    # given
    client.post("/i18n/setlang/", {"language": "ms", "next": "/privacy/"})
    # when
    response = client.get("/privacy/?lang=en")
    # then
    html = response.content.decode()
    assert '<article class="policy" lang="en">' in html
    assert EN_TEXT in html


def test_the_history_lists_published_versions_only_newest_first(client, policy):
    # given
    draft = PolicyVersionFactory(version="draft-not-public")
    # when
    response = client.get("/privacy/versions/")
    # then
    assert response.status_code == 200
    assert list(response.context["versions"]) == [policy, _first_policy()]
    html = response.content.decode()
    assert f'href="/privacy/versions/{policy.version}/"' in html
    assert 'href="/privacy/versions/2026-11-24/"' in html
    assert draft.version not in html


def test_an_older_published_version_can_be_read_and_says_it_is_not_in_force(client, policy):
    # when
    response = client.get("/privacy/versions/2026-11-24/")
    # then
    assert response.status_code == 200
    assert response.context["policy"] == _first_policy()
    html = response.content.decode()
    assert "This is not the version in force." in html
    assert f"<code>{_first_policy().content_hash}</code>" in html


def test_a_draft_version_page_is_not_found(client):
    # given
    draft = PolicyVersionFactory()
    # when
    response = client.get(f"/privacy/versions/{draft.version}/")
    # then
    assert response.status_code == 404
    assert draft.body_en.encode() not in response.content


# --- the markdown filter never lets script through


def test_a_policy_body_with_script_and_javascript_links_renders_without_them(client):
    # given
    PolicyVersionFactory(
        published=True,
        effective_date=timezone.localdate(),
        body_en=(
            "## Hello\n\n<script>alert('owned')</script>\n\n"
            "[click me](javascript:alert(1))\n\n"
            '<a href="javascript:alert(2)" onclick="alert(3)">or me</a>\n\n'
            "[our address](https://ipmart.com.my/contact/)"
        ),
    )
    # when
    response = client.get("/privacy/")
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script" not in html
    assert "alert(" not in html
    assert "javascript:" not in html
    assert "onclick" not in html
    assert '<a rel="noopener">click me</a>' in html
    assert '<a rel="noopener">or me</a>' in html
    assert '<a href="https://ipmart.com.my/contact/" rel="noopener">our address</a>' in html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", ""),
        ("[x](javascript:alert(1))", '<p><a rel="noopener">x</a></p>'),
        ('<img src="x" onerror="alert(1)">', "<p></p>"),
        ("**bold** and *em*", "<p><strong>bold</strong> and <em>em</em></p>"),
        (
            "[mail](mailto:privacy@ipmart.com.my)",
            '<p><a href="mailto:privacy@ipmart.com.my" rel="noopener">mail</a></p>',
        ),
        ("", ""),
    ],
    ids=["script", "javascript-link", "img-onerror", "emphasis", "mailto", "empty"],
)
def test_the_markdown_filter_keeps_only_structural_html(text, html):
    # when
    rendered = markdown(text)
    # then
    assert rendered.strip() == html


# --- accepting a new version


def _customer_who_accepted_the_first_policy():
    customer = CustomerFactory()
    accept_policy(
        customer, policy=_first_policy(), method=AcceptanceMethod.SIGNUP, ip_address="203.0.113.1"
    )
    return customer


def test_an_anonymous_visitor_is_sent_to_sign_in_and_nothing_is_recorded(client, policy):
    # when
    response = client.post("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/privacy/accept/"
    assert PolicyAcceptance.objects.count() == 0


def test_anonymous_visitors_see_no_banner(client, policy):
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200
    assert BANNER not in response.content.decode()


@pytest.mark.parametrize("path", ["/", "/account/", "/privacy/versions/"])
def test_a_customer_who_accepted_an_older_version_sees_the_banner_on_every_page(
    client, policy, path
):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    # when
    response = client.get(path)
    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f"Our privacy policy has changed (version {policy.version}). Please review and accept it."
        in html
    )
    assert 'href="/privacy/#accept"' in html


def test_the_policy_page_offers_the_acceptance_form_for_the_current_version(client, policy):
    # given
    client.force_login(_customer_who_accepted_the_first_policy())
    # when
    response = client.get("/privacy/")
    # then
    html = response.content.decode()
    assert '<section id="accept"' in html
    assert f'name="policy_id" value="{policy.pk}"' in html
    assert 'name="agree"' in html


def test_accepting_the_current_version_records_a_review_and_removes_the_banner(client, policy):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    assert BANNER in client.get("/").content.decode()
    # when
    response = client.post(
        "/privacy/accept/",
        {"policy_id": policy.pk, "agree": "on"},
        HTTP_USER_AGENT="Firefox/140",
        REMOTE_ADDR="198.51.100.23",
    )
    # then
    assert response.status_code == 302
    assert response["Location"] == "/privacy/"
    acceptance = PolicyAcceptance.objects.get(user=customer, policy=policy)
    assert acceptance.method == "review"
    assert acceptance.ip_address == "198.51.100.23"
    assert acceptance.user_agent == "Firefox/140"
    assert PolicyAcceptance.objects.filter(user=customer).count() == 2
    page = client.get("/privacy/").content.decode()
    assert f"Thank you. You accepted privacy policy version {policy.version}." in page
    assert '<section id="accept"' not in page
    for path in ["/", "/account/"]:
        assert BANNER not in client.get(path).content.decode()


def test_the_acceptance_is_remembered_in_a_new_session(client, policy):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    client.post("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    client.logout()
    # when
    client.force_login(customer)
    response = client.get("/account/")
    # then
    assert BANNER not in response.content.decode()


def test_a_stale_policy_id_records_nothing_and_warns(client, policy):
    # given: the customer was reading the first policy when a new one was published
    customer = CustomerFactory()
    client.force_login(customer)
    # when
    response = client.post(
        "/privacy/accept/", {"policy_id": _first_policy().pk, "agree": "on"}, follow=True
    )
    # then
    assert response.redirect_chain == [("/privacy/", 302)]
    html = response.content.decode()
    assert (
        "The privacy policy changed while you were reading it. Please review this version." in html
    )
    assert PolicyAcceptance.objects.filter(user=customer).count() == 0
    assert BANNER in html


def test_without_ticking_agree_nothing_is_recorded(client, policy):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    # when
    response = client.post("/privacy/accept/", {"policy_id": policy.pk})
    # then
    assert response.status_code == 200
    assert "Tick the box to accept the privacy policy." in response.content.decode()
    accepted = PolicyAcceptance.objects.filter(user=customer).values_list("policy", flat=True)
    assert list(accepted) == [_first_policy().pk]


def test_a_double_post_leaves_exactly_one_acceptance(client, policy):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    # when
    first = client.post("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    second = client.post("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    # then
    assert (first.status_code, second.status_code) == (302, 302)
    assert PolicyAcceptance.objects.filter(user=customer, policy=policy).count() == 1


def test_accepting_with_get_is_not_allowed(client, policy):
    # given
    customer = _customer_who_accepted_the_first_policy()
    client.force_login(customer)
    # when
    response = client.get("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    # then
    assert response.status_code == 405
    assert PolicyAcceptance.objects.filter(user=customer, policy=policy).count() == 0


def test_a_customer_who_accepted_the_current_version_sees_no_banner(client, policy):
    # given
    customer = CustomerFactory()
    accept_policy(customer, policy=policy, method=AcceptanceMethod.SIGNUP, ip_address=None)
    client.force_login(customer)
    # when
    pages = [client.get(path) for path in ["/", "/account/", "/privacy/"]]
    # then
    for page in pages:
        assert page.status_code == 200
        assert BANNER not in page.content.decode()
    assert '<section id="accept"' not in pages[2].content.decode()


def test_a_customer_whose_profile_language_is_malay_reads_the_malay_text(client, policy):
    # given: no language cookie; the profile says Bahasa Malaysia
    customer = CustomerFactory(preferred_language="ms")
    accept_policy(customer, policy=policy, method=AcceptanceMethod.SIGNUP, ip_address=None)
    client.force_login(customer)
    # when
    response = client.get("/privacy/")
    # then
    html = response.content.decode()
    assert '<article class="policy" lang="ms">' in html
    assert MS_TEXT in html


def test_one_customer_accepting_does_not_remove_the_banner_for_another(client, policy):
    # given
    accepting = _customer_who_accepted_the_first_policy()
    other = _customer_who_accepted_the_first_policy()
    client.force_login(accepting)
    client.post("/privacy/accept/", {"policy_id": policy.pk, "agree": "on"})
    client.logout()
    # when
    client.force_login(other)
    response = client.get("/")
    # then
    assert BANNER in response.content.decode()
    assert not PolicyAcceptance.objects.filter(user=other, policy=policy).exists()


def test_the_history_page_makes_the_same_queries_however_many_versions(
    client, django_assert_num_queries
):
    # given
    PolicyVersionFactory(published=True)
    client.get("/privacy/versions/")  # warm the current-policy cache
    with CaptureQueriesContext(connection) as few:
        client.get("/privacy/versions/")
    PolicyVersionFactory.create_batch(5, published=True)
    # when
    with django_assert_num_queries(len(few)):
        response = client.get("/privacy/versions/")
    # then
    assert len(response.context["versions"]) == 7
