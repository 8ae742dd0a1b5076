class ShopError(Exception):
    """A shop action that cannot be done; the message is meant for the person who tried."""


class CartError(ShopError):
    pass


class CheckoutError(ShopError):
    pass


class PaymentError(ShopError):
    pass
