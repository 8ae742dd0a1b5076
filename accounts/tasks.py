"""Outbox handlers of the accounts app."""


def send_signup_email(kind: str, email_address_id: int, language: str) -> bool:
    """The verification or "account already exists" email of a signup (accounts.emails)."""
    from .emails import send_signup_email as send

    return send(kind, email_address_id, language)
