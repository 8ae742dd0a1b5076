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
from .support import FaqEntryFactory, FaqTopicFactory, InquiryFactory, MacroFactory

__all__ = [
    "AddressFactory",
    "CartFactory",
    "CartLineFactory",
    "CategoryFactory",
    "CustomerFactory",
    "FaqEntryFactory",
    "FaqTopicFactory",
    "InquiryFactory",
    "LicenceKeyFactory",
    "MacroFactory",
    "OrderFactory",
    "OrderLineFactory",
    "PaymentAttemptFactory",
    "PolicyVersionFactory",
    "ProductFactory",
    "StaffFactory",
    "UserFactory",
    "cart_with",
]
