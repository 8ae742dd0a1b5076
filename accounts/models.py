from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    MALAY = "ms", _("Bahasa Malaysia")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer or a staff member. The email address is the login; there is no username."""

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=150)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    preferred_language = models.CharField(
        _("preferred language"),
        max_length=8,
        choices=Language.choices,
        default=Language.ENGLISH,
    )
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # One account per address whatever its case ("Aina@x" and "aina@x" are one person).
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_case_insensitive_unique",
                violation_error_message=_("An account with this email address already exists."),
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def audit_repr(self) -> str:
        """How the staff audit trail names this account: no email, since the trail is
        append-only and is kept after the account is closed and anonymised."""
        return f"account {self.pk}"

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class AddressQuerySet(models.QuerySet["Address"]):
    def for_user(self, user: "User | int") -> "AddressQuerySet":
        return self.filter(user=user)


class Address(models.Model):
    """One entry of a customer's address book. At most one default billing and one default
    shipping address per customer (database constraints)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    label = models.CharField(
        _("label"), max_length=40, blank=True, help_text=_("e.g. Home, Office")
    )
    full_name = models.CharField(_("full name"), max_length=150)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100)
    state = models.CharField(_("state or region"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=20)
    country = CountryField(_("country"), default="MY")
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_default_billing = models.BooleanField(_("default billing address"), default=False)
    is_default_shipping = models.BooleanField(_("default shipping address"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AddressQuerySet.as_manager()

    # What the customer types; the two defaults are managed by accounts.services.
    ENTRY_FIELDS = (
        "label",
        "full_name",
        "line1",
        "line2",
        "city",
        "state",
        "postcode",
        "country",
        "phone",
    )
    DEFAULT_FIELDS = ("is_default_billing", "is_default_shipping")

    class Meta:
        ordering = ["-is_default_shipping", "-is_default_billing", "id"]
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_billing=True),
                name="one_default_billing_address_per_user",
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=Q(is_default_shipping=True),
                name="one_default_shipping_address_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"Address {self.pk}"

    def lines(self) -> list[str]:
        """The address as printed on a label, one line each, empty parts left out."""
        city_line = " ".join(part for part in [self.postcode, self.city] if part)
        parts = [self.full_name, self.line1, self.line2, city_line, self.state, self.country.name]
        return [part for part in parts if part]
