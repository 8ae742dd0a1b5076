"""Demo data for the embedded default: a customer and one staff member per role. Running it
again changes nothing (the people are looked up by email)."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import roles
from accounts.models import User
from accounts.services import add_address
from privacy.models import AcceptanceMethod
from privacy.services import accept_policy, get_current_policy

DEMO_PASSWORD = "demo-password-2026"

CUSTOMER = ("customer@demo.ipmart.test", "Aisyah Rahman")
STAFF = [
    ("reviewer@demo.ipmart.test", "Vera Reviewer", roles.VERIFICATION_REVIEWER),
    ("support@demo.ipmart.test", "Sam Support", roles.SUPPORT_AGENT),
    ("marketing@demo.ipmart.test", "Mei Marketing", roles.MARKETING_MANAGER),
    ("manager@demo.ipmart.test", "Mohan Manager", roles.STORE_MANAGER),
    ("dpo@demo.ipmart.test", "Dewi Officer", roles.DATA_PROTECTION_OFFICER),
]


class Command(BaseCommand):
    help = "Create the demo customer and one demo staff user per role (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (never on a store with real customers).",
        )

    def handle(self, *args, allow_production: bool, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError("Demo users have known passwords: seeding needs DEBUG on.")
        with transaction.atomic():
            customer, created = self._person(*CUSTOMER, staff=False)
            if created:
                add_address(
                    customer,
                    data={
                        "label": "Home",
                        "full_name": customer.full_name,
                        "line1": "12 Jalan Bukit Bintang",
                        "city": "Kuala Lumpur",
                        "state": "Wilayah Persekutuan",
                        "postcode": "55100",
                        "country": "MY",
                    },
                )
            policy = get_current_policy()
            if policy is not None:
                accept_policy(
                    customer, policy=policy, method=AcceptanceMethod.SIGNUP, ip_address=None
                )
            for email, name, role in STAFF:
                person, _ = self._person(email, name, staff=True)
                person.groups.set([Group.objects.get(name=role)])
        rows = [(CUSTOMER[0], "customer")] + [(email, role) for email, _, role in STAFF]
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password for all: {DEMO_PASSWORD})"))
        for email, what in rows:
            self.stdout.write(f"  {email:<32} {what}")

    def _person(self, email: str, name: str, *, staff: bool) -> tuple[User, bool]:
        user = User.objects.filter(email=email).first()
        created = user is None
        if created:
            user = User.objects.create_user(email, DEMO_PASSWORD, full_name=name, is_staff=staff)
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        return user, created
