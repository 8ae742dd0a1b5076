"""The two ways to sign in: Django's password backend (staff in admin) and allauth's (customers
by email). Both load the signed-in user on every request from SQL compiled once per process
(ipmart/core/compiled_query.py): Django's own `get_user` compiled the same query each time,
a third of what a signed-in request spends before its view. Who may sign in, how passwords are
checked and which users a session may hold are theirs, unchanged."""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from ipmart.core.compiled_query import CompiledQuery

_user_by_id = CompiledQuery(lambda user_id: get_user_model()._default_manager.filter(pk=user_id))


class CompiledUserLoad:
    def get_user(self, user_id):
        """As ModelBackend.get_user: the user with this id if they may sign in, else None."""
        found = _user_by_id(user_id)
        if not found:
            return None
        user = found[0]
        return user if self.user_can_authenticate(user) else None


class PasswordBackend(CompiledUserLoad, ModelBackend):
    """Email and password in Django's login forms (admin)."""


class EmailBackend(CompiledUserLoad, AllauthBackend):
    """allauth's sign-in (the storefront): email and password, login codes."""
