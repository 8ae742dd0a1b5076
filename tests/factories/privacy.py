import datetime

import factory
from django.utils import timezone

from privacy.models import PolicyVersion


class PolicyVersionFactory(factory.django.DjangoModelFactory):
    """A draft policy version; `PolicyVersionFactory(published=True)` publishes it."""

    class Meta:
        model = PolicyVersion
        skip_postgeneration_save = True

    version = factory.Sequence(lambda n: f"2027-01-{n % 28 + 1:02d}-{n}")
    effective_date = factory.LazyFunction(lambda: timezone.localdate())
    summary = "Clarified how long we keep documents."
    body_en = factory.Sequence(lambda n: f"## Policy {n}\n\nWe protect your data.")
    body_ms = factory.Sequence(lambda n: f"## Dasar {n}\n\nKami melindungi data anda.")

    @factory.post_generation
    def published(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.content_hash = obj.compute_hash()
            obj.published_at = timezone.now() + datetime.timedelta(seconds=1)
            obj.save()
