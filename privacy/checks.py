"""`manage.py check` (and so every deploy and test run) refuses personal-data declarations that
break the contract, instead of failing later on a customer's export or closure."""

from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register()
def personal_data_declarations(app_configs, **kwargs):
    from . import registry

    try:
        registry.discover()
    except ImproperlyConfigured as error:
        return [
            checks.Error(
                str(error),
                hint="See the README, Personal data: each <app>/personal_data.py's contract.",
                id="privacy.E001",
            )
        ]
    return []
