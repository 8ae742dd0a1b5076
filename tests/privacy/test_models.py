"""The seeded first policy and which version is in force (PolicyVersion.objects.current())."""

import datetime
from pathlib import Path

import pytest
from django.utils import timezone

from privacy.models import PolicyVersion
from tests.factories import PolicyVersionFactory

POLICIES = Path(__file__).resolve().parents[2] / "privacy" / "policies"
FIRST_VERSION = "2026-11-24"

pytestmark = pytest.mark.django_db


def _first_policy() -> PolicyVersion:
    return PolicyVersion.objects.get(version=FIRST_VERSION)


def test_the_first_policy_is_seeded_by_migration_and_published():
    # when
    policy = _first_policy()
    # then
    assert PolicyVersion.objects.count() == 1
    assert policy.effective_date == datetime.date(2026, 11, 24)
    assert policy.is_published
    assert policy.published_at <= timezone.now()
    assert policy.summary == "First version of the IPmart privacy policy for the new store."


def test_the_first_policy_hash_is_the_hash_of_its_texts():
    # when
    policy = _first_policy()
    # then
    assert len(policy.content_hash) == 64
    assert policy.content_hash == policy.compute_hash()


def test_the_first_policy_texts_are_the_files_in_privacy_policies():
    # given
    folder = POLICIES / FIRST_VERSION
    # when
    policy = _first_policy()
    # then
    assert policy.body_en == (folder / "en.md").read_text(encoding="utf-8")
    assert policy.body_ms == (folder / "ms.md").read_text(encoding="utf-8")
    assert policy.body_en != policy.body_ms


def test_the_hash_changes_with_any_byte_of_either_text():
    # given
    policy = _first_policy()
    original = policy.compute_hash()
    # when
    policy.body_ms += " "
    # then
    assert policy.compute_hash() != original


def test_current_is_the_published_version_with_the_latest_effective_date_in_force():
    # given
    today = timezone.localdate()
    older = PolicyVersionFactory(published=True, effective_date=datetime.date(2026, 1, 1))
    newest = PolicyVersionFactory(published=True, effective_date=today)
    # when
    current = PolicyVersion.objects.current()
    # then
    assert current == newest
    assert PolicyVersion.objects.current(on=datetime.date(2026, 11, 23)) == older
    assert PolicyVersion.objects.current(on=datetime.date(2026, 11, 24)) == _first_policy()
    assert PolicyVersion.objects.current(on=datetime.date(2025, 12, 31)) is None


def test_of_two_versions_effective_the_same_day_the_later_published_is_current():
    # given
    today = timezone.localdate()
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    earlier = PolicyVersionFactory(effective_date=today, published_at=now - 2 * hour)
    later = PolicyVersionFactory(effective_date=today, published_at=now - hour)
    # when
    current = PolicyVersion.objects.current()
    # then
    assert current == later
    assert list(PolicyVersion.objects.in_force()[:2]) == [later, earlier]


def test_a_published_version_effective_in_the_future_is_not_current_yet():
    # given
    effective = timezone.localdate() + datetime.timedelta(days=30)
    future = PolicyVersionFactory(published=True, effective_date=effective)
    # when
    current = PolicyVersion.objects.current()
    # then
    assert current == _first_policy()
    assert PolicyVersion.objects.current(on=effective) == future


def test_a_draft_is_never_current_whatever_its_effective_date():
    # given
    today = timezone.localdate()
    draft = PolicyVersionFactory(effective_date=today)
    # when
    current = PolicyVersion.objects.current()
    # then
    assert current == _first_policy()
    assert draft not in PolicyVersion.objects.in_force(on=today + datetime.timedelta(days=365))
    assert draft not in PolicyVersion.objects.published()
