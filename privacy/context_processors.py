from django.utils.functional import SimpleLazyObject

from .services import get_current_policy, get_current_policy_id, has_accepted


def _notice(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    policy_id = get_current_policy_id()
    if policy_id is None:
        return None
    # Once seen accepted, the session remembers it: no query per page afterwards.
    if request.session.get("accepted_policy_id") == policy_id:
        return None
    if has_accepted(user, policy_id):
        request.session["accepted_policy_id"] = policy_id
        return None
    return get_current_policy()


def policy_notice(request):
    """`policy_update_notice`: the policy version a logged-in person has not accepted yet."""
    return {"policy_update_notice": SimpleLazyObject(lambda: _notice(request))}
