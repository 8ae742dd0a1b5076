"""privacy.services: publish_policy, get_current_policy's cache, accept_policy and log_access."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from privacy.models import (
    AcceptanceMethod,
    AccessAction,
    AccessLog,
    PolicyAcceptance,
    PolicyVersion,
)
from privacy.services import (
    CURRENT_POLICY_CACHE_KEY,
    PolicyError,
    accept_policy,
    get_current_policy,
    log_access,
    publish_policy,
)
from tests.factories import AddressFactory, CustomerFactory, PolicyVersionFactory, StaffFactory

pytestmark = pytest.mark.django_db


def _row(policy: PolicyVersion) -> dict:
    return PolicyVersion.objects.values().get(pk=policy.pk)


# --- publish_policy


def test_publish_policy_sets_the_hash_and_the_publication_time():
    # given
    draft = PolicyVersionFactory()
    manager = StaffFactory(role="store manager")
    before = timezone.now()
    # when
    published = publish_policy(draft, acting_user=manager)
    # then
    draft.refresh_from_db()
    assert published.pk == draft.pk
    assert draft.content_hash == draft.compute_hash()
    assert len(draft.content_hash) == 64
    assert before <= draft.published_at <= timezone.now()
    assert published.content_hash == draft.content_hash
    assert published.published_at == draft.published_at


def test_publishing_a_published_version_again_is_refused_and_changes_nothing():
    # given
    draft = PolicyVersionFactory()
    publish_policy(draft, acting_user=None)
    before = _row(draft)
    # when
    with pytest.raises(PolicyError, match="already published and cannot change"):
        publish_policy(draft, acting_user=None)
    # then
    assert _row(draft) == before


@pytest.mark.parametrize("empty_field", ["body_ms", "body_en"])
@pytest.mark.parametrize("empty_text", ["", "  \n\t "])
def test_a_version_without_text_in_both_languages_cannot_be_published(empty_field, empty_text):
    # given
    draft = PolicyVersionFactory(**{empty_field: empty_text})
    before = _row(draft)
    # when
    with pytest.raises(PolicyError, match="needs its text in both English and Bahasa Malaysia"):
        publish_policy(draft, acting_user=None)
    # then
    assert _row(draft) == before
    assert before["published_at"] is None
    assert before["content_hash"] == ""


def test_publishing_clears_the_cached_current_policy_once_committed(
    django_capture_on_commit_callbacks,
):
    # given: the first policy is current and its id is cached
    first = PolicyVersion.objects.get(version="2026-11-24")
    assert get_current_policy() == first
    assert cache.get(CURRENT_POLICY_CACHE_KEY) == first.pk
    draft = PolicyVersionFactory(effective_date=timezone.localdate())
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        publish_policy(draft, acting_user=None)
    # then
    assert len(callbacks) == 1
    assert cache.get(CURRENT_POLICY_CACHE_KEY) is None
    assert get_current_policy() == draft
    assert cache.get(CURRENT_POLICY_CACHE_KEY) == draft.pk


def test_the_cache_is_not_cleared_before_the_publication_commits(
    django_capture_on_commit_callbacks,
):
    # given
    first = PolicyVersion.objects.get(version="2026-11-24")
    get_current_policy()
    draft = PolicyVersionFactory(effective_date=timezone.localdate())
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        publish_policy(draft, acting_user=None)
    # then
    assert len(callbacks) == 1
    assert cache.get(CURRENT_POLICY_CACHE_KEY) == first.pk


def test_a_refused_publication_queues_nothing(django_capture_on_commit_callbacks):
    # given
    first = PolicyVersion.objects.get(version="2026-11-24")
    get_current_policy()
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(PolicyError):
            publish_policy(first, acting_user=None)
    # then
    assert callbacks == []
    assert cache.get(CURRENT_POLICY_CACHE_KEY) == first.pk


# --- accept_policy


def test_accept_policy_records_who_accepted_which_version_how_and_from_where():
    # given
    customer = CustomerFactory()
    policy = PolicyVersionFactory(published=True)
    user_agent = "Mozilla/5.0 " + "x" * 400
    before = timezone.now()
    # when
    acceptance = accept_policy(
        customer,
        policy=policy,
        method=AcceptanceMethod.REVIEW,
        ip_address="203.0.113.7",
        user_agent=user_agent,
    )
    # then
    row = PolicyAcceptance.objects.get(user=customer)
    assert row.pk == acceptance.pk
    assert row.policy == policy
    assert row.method == "review"
    assert row.ip_address == "203.0.113.7"
    assert row.user_agent == user_agent[:300]
    assert len(row.user_agent) == 300
    assert before <= row.accepted_at <= timezone.now()


def test_accepting_the_same_version_twice_returns_the_first_acceptance_unchanged():
    # given
    customer = CustomerFactory()
    policy = PolicyVersionFactory(published=True)
    first = accept_policy(
        customer, policy=policy, method=AcceptanceMethod.SIGNUP, ip_address="203.0.113.7"
    )
    before = PolicyAcceptance.objects.values().get(pk=first.pk)
    # when
    second = accept_policy(
        customer,
        policy=policy,
        method=AcceptanceMethod.REVIEW,
        ip_address="198.51.100.1",
        user_agent="another browser",
    )
    # then
    assert second.pk == first.pk
    assert PolicyAcceptance.objects.filter(user=customer).count() == 1
    assert PolicyAcceptance.objects.values().get(pk=first.pk) == before


def test_an_unpublished_version_cannot_be_accepted():
    # given
    customer = CustomerFactory()
    draft = PolicyVersionFactory()
    # when
    with pytest.raises(PolicyError, match="Only a published policy can be accepted"):
        accept_policy(
            customer, policy=draft, method=AcceptanceMethod.REVIEW, ip_address="203.0.113.7"
        )
    # then
    assert PolicyAcceptance.objects.count() == 0


def test_an_unknown_acceptance_method_is_refused():
    # given
    customer = CustomerFactory()
    policy = PolicyVersionFactory(published=True)
    # when
    with pytest.raises(ValueError, match="unknown acceptance method 'telepathy'"):
        accept_policy(customer, policy=policy, method="telepathy", ip_address=None)
    # then
    assert PolicyAcceptance.objects.count() == 0


# --- log_access


def _superuser():
    return StaffFactory(is_superuser=True)


def _staff_in_two_roles():
    staff = StaffFactory(role="support agent")
    staff.groups.add(Group.objects.get(name="store manager"))
    return staff


@pytest.mark.parametrize(
    ("make_actor", "role"),
    [
        (CustomerFactory, "customer"),
        (_superuser, "superuser"),
        (StaffFactory, "staff without role"),
        (lambda: StaffFactory(role="support agent"), "support agent"),
        (_staff_in_two_roles, "store manager, support agent"),
        (lambda: None, "system"),
    ],
    ids=["customer", "superuser", "staff-without-role", "one-role", "two-roles", "system"],
)
def test_log_access_writes_one_row_naming_the_actor_and_their_role(make_actor, role):
    # given
    actor = make_actor()
    customer = CustomerFactory()
    address = AddressFactory(user=customer)
    before = timezone.now()
    # when
    entry = log_access(
        actor,
        action=AccessAction.VIEWED,
        target=address,
        subject=customer,
        ip_address="192.0.2.10",
        detail="address page",
    )
    # then
    row = AccessLog.objects.get()
    assert row.pk == entry.pk
    assert row.actor == actor
    assert row.actor_role == role
    assert row.action == "viewed"
    assert row.target_type == "accounts.address"
    assert row.target_id == str(address.pk)
    assert row.subject == customer
    assert row.ip_address == "192.0.2.10"
    assert row.detail == "address page"
    assert before <= row.at <= timezone.now()


def test_log_access_names_the_model_of_any_target():
    # given
    staff = StaffFactory(role="store manager")
    customer = CustomerFactory()
    # when
    log_access(staff, action=AccessAction.EXPORTED, target=customer, subject=customer)
    # then
    row = AccessLog.objects.get()
    assert row.target_type == "accounts.user"
    assert row.target_id == str(customer.pk)
    assert row.action == "exported"
    assert row.ip_address is None
    assert row.detail == ""


def test_log_access_refuses_an_unknown_action_and_writes_nothing():
    # given
    staff = StaffFactory(role="support agent")
    customer = CustomerFactory()
    # when
    with pytest.raises(ValueError, match="unknown access action 'deleted'"):
        log_access(staff, action="deleted", target=customer, subject=customer)
    # then
    assert AccessLog.objects.count() == 0
