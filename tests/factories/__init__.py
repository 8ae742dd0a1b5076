from .accounts import AddressFactory, CustomerFactory, StaffFactory, UserFactory
from .orders import (
    CartFactory,
    CartLineFactory,
    CategoryFactory,
    LicenceKeyFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentAttemptFactory,
    ProductFactory,
    cart_with,
)
from .privacy import PolicyVersionFactory

__all__ = [
    "AddressFactory",
    "CartFactory",
    "CartLineFactory",
    "CategoryFactory",
    "CustomerFactory",
    "LicenceKeyFactory",
    "OrderFactory",
    "OrderLineFactory",
    "PaymentAttemptFactory",
    "PolicyVersionFactory",
    "ProductFactory",
    "StaffFactory",
    "UserFactory",
    "cart_with",
]
