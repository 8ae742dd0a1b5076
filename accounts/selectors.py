"""Reads that decide who may see what. Every customer-facing view goes through these, so an id
that belongs to another customer is a 404, never someone else's data."""

from django.shortcuts import get_object_or_404

from .models import Address, User


def get_address_for_user(user: User, address_id: int) -> Address:
    return get_object_or_404(Address.objects.for_user(user), pk=address_id)
