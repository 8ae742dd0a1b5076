from .accounts import AddressFactory, CustomerFactory, StaffFactory, UserFactory
from .marketing import CampaignFactory, SubscriberFactory, SubscriptionFactory
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
    "CampaignFactory",
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
    "SubscriberFactory",
    "SubscriptionFactory",
    "UserFactory",
    "cart_with",
]
