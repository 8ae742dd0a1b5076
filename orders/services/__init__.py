"""State changes of the shop, one function per action, split by sub-domain:
cart.py (basket), checkout.py (placing, cancelling, expiring orders; reservations),
payments.py (hosted checkout, gateway statuses, webhooks, reconciliation),
fulfilment.py (keys, shipping, refunds), catalogue.py (products and licence-key imports), verification.py (documents that
prove the payer is the cardholder: asking, uploading, deciding, shredding)."""
