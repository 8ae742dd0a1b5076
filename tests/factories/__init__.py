from .accounts import AddressFactory, CustomerFactory, StaffFactory, UserFactory, staff_client
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
    ShippingMethodFactory,
    cart_with,
    free_shipping,
    placed_order,
)
from .privacy import PolicyVersionFactory
from .support import FaqEntryFactory, FaqTopicFactory, InquiryFactory, MacroFactory, attach_file

__all__ = [
    "AddressFactory",
    "CampaignFactory",
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
    "ShippingMethodFactory",
    "free_shipping",
    "PaymentAttemptFactory",
    "PolicyVersionFactory",
    "ProductFactory",
    "StaffFactory",
    "SubscriberFactory",
    "SubscriptionFactory",
    "UserFactory",
    "staff_client",
    "attach_file",
    "cart_with",
    "placed_order",
]
