"""Signup timing: the answer for an email that already has an account must take as long as the
one for a new email, or the timing tells an attacker which emails are customers (measured
before the fix: 26 ms against 378 ms). Posts real signups through Django's test client with
the configured password hasher (Django's PBKDF2 under the bench settings), alternating the two
cases, and reports both medians. Target: within 20 ms.

Each round probes a different existing account, as an attacker would (allauth sends at most one
email per address per 3 minutes, so probing one address again is cheaper on both paths). The
emails go through the outbox: with REDIS_URL set they are handed to the broker as in
production (the bench's messages are removed afterwards). The first line is the store as it
runs, every answer held to one floor (accounts.pacing); the next two switch the pacing off to
show what it evens out: the answers' own times with PBKDF2 (whose spread on a loaded machine is
tens of ms) and with a cheap hasher (what the two paths do differently besides the hash)."""

import statistics
import time
import uuid

TARGET_MS = 20.0


def signup_medians(rounds: int = 15) -> tuple[float, float]:
    """(median ms for an existing email, median ms for a new email)."""
    from allauth.account.models import EmailAddress
    from django.test import Client

    from accounts.models import User
    from ipmart.core.models import OutboxMessage
    from privacy.services import get_current_policy

    def existing_account() -> str:
        taken = f"bench-signup-taken-{uuid.uuid4().hex[:12]}@example.com"
        owner = User.objects.create_user(taken, full_name="Bench Owner")
        EmailAddress.objects.create(user=owner, email=taken, verified=True, primary=True)
        created.append(taken)
        return taken

    first_message = OutboxMessage.objects.order_by("-pk").values_list("pk", flat=True).first()
    policy_id = get_current_policy().pk
    created: list[str] = []
    times: dict[str, list[float]] = {"existing": [], "new": []}

    def post(email: str, n: int) -> float:
        # one client (and IP) per signup: allauth rate-limits signups per IP
        client = Client(REMOTE_ADDR=f"10.{n // 250 % 250}.{n % 250}.7")
        data = {
            "full_name": "Bench Person",
            "email": email,
            "password1": "a long bench passphrase 2026",
            "password2": "a long bench passphrase 2026",
            "accept_privacy_policy": "on",
            "policy_id": policy_id,
        }
        started = time.perf_counter()
        response = client.post("/accounts/signup/", data)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 302:
            raise RuntimeError(f"signup answered {response.status_code}")
        return elapsed

    try:
        for n in range(rounds + 2):  # the first two of each are warm-up
            fresh = f"bench-signup-{uuid.uuid4().hex[:12]}@example.com"
            created.append(fresh)
            order = [("new", fresh), ("existing", existing_account())]
            if n % 2:
                order.reverse()
            for case, email in order:
                elapsed = post(email, 2 * n + (case == "new"))
                if n >= 2:
                    times[case].append(elapsed)
    finally:
        User.objects.filter(email__in=created).delete()
        OutboxMessage.objects.filter(
            pk__gt=first_message or 0, handler="accounts.tasks.send_signup_email"
        ).delete()
    return statistics.median(times["existing"]), statistics.median(times["new"])


def _line(label: str, existing: float, new: float, *, judged: bool = True) -> str:
    gap = abs(new - existing)
    line = f"{label}: existing email {existing:.1f} ms, new email {new:.1f} ms (medians); gap {gap:.1f} ms"
    if not judged:
        return line + " (for comparison)"
    verdict = "ok" if gap <= TARGET_MS else "HIGH"
    return line + f" (target: at most {TARGET_MS:.0f}) {verdict}"


def report() -> str:
    from django.contrib.auth.hashers import get_hashers
    from django.test import override_settings

    from accounts import pacing

    def medians(*, paced: bool) -> tuple[float, float]:
        # a pacer of its own per line: one line's floor must not hold the next line's answers
        pacing.SIGNUP_PACER = pacing.SignupPacer()
        if not paced:
            pacing.SIGNUP_PACER.MAX_WAIT = 0.0
        return signup_medians()

    kept = pacing.SIGNUP_PACER
    try:
        lines = [_line("signup", *medians(paced=True))]
        # what the pacing evens out: the two answers' own times, with and without PBKDF2
        lines.append(_line("signup without the pacing", *medians(paced=False), judged=False))
        cheap = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        with override_settings(PASSWORD_HASHERS=cheap):
            get_hashers.cache_clear()
            lines.append(
                _line("  … and without the hash (MD5)", *medians(paced=False), judged=False)
            )
        get_hashers.cache_clear()
    finally:
        pacing.SIGNUP_PACER = kept
    return "\n".join(lines)


if __name__ == "__main__":
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.bench")
    import django

    django.setup()
    print(report())
