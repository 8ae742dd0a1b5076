import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group

from accounts.models import Address, User

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    """A customer whose email is verified, with PASSWORD as password."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified(obj, create, extracted, **kwargs):
        obj.save()
        if create and extracted is not False:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)


CustomerFactory = UserFactory


class StaffFactory(UserFactory):
    """A staff member; `StaffFactory(role="support agent")` puts them in that role's group."""

    is_staff = True

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.groups.add(Group.objects.get(name=extracted))


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = factory.LazyAttribute(lambda o: o.user.full_name)
    line1 = factory.Sequence(lambda n: f"{n} Jalan Ampang")
    city = "Kuala Lumpur"
    state = "Wilayah Persekutuan"
    postcode = "50450"
    country = "MY"


class TOTPAuthenticatorFactory(factory.django.DjangoModelFactory):
    """An enrolled TOTP authenticator, made the way allauth's activation flow makes it (the
    secret goes through the MFA adapter, so it is stored encrypted). `.secret` is the clear
    base32 secret, for computing codes."""

    class Meta:
        model = Authenticator

    user = factory.SubFactory(StaffFactory)
    secret = factory.LazyFunction(generate_totp_secret)

    @classmethod
    def _create(cls, model_class, user, secret, **kwargs):
        authenticator = TOTP.activate(user, secret).instance
        authenticator.secret = secret
        return authenticator


def enrolled_in_mfa(user):
    """`user`, enrolled in a second factor as far as the admin's MFA gate asks: an authenticator
    row stands for it (the login flow itself is tested with real codes in tests/accounts)."""
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})
    return user


def staff_client(role: str | None = None, **fields):
    """(a staff member in `role`, a test client logged in as them) past the admin's MFA gate
    (`enrolled_in_mfa`)."""
    from django.test import Client

    user = enrolled_in_mfa(StaffFactory(role=role, **fields))
    client = Client()
    client.force_login(user)
    return user, client
