from .accounts import AddressFactory, CustomerFactory, StaffFactory, UserFactory
from .privacy import PolicyVersionFactory

__all__ = [
    "AddressFactory",
    "CustomerFactory",
    "PolicyVersionFactory",
    "StaffFactory",
    "UserFactory",
]
