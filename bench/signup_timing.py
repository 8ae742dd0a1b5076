"""Signup timing: the answer for an email that already has an account must take as long as the
one for a new email, or the timing tells an attacker which emails are customers (measured
before the fix: 26 ms against 378 ms). Posts real signups through Django's test client with
the configured password hasher (Django's PBKDF2 under the bench settings), alternating the two
cases, and reports both medians. Target: within 20 ms."""

import statistics
import time
import uuid

TARGET_MS = 20.0


def signup_medians(rounds: int = 15) -> tuple[float, float]:
    """(median ms for an existing email, median ms for a new email)."""
    from allauth.account.models import EmailAddress
    from django.test import Client

    from accounts.models import User
    from privacy.services import get_current_policy

    taken = "bench-signup-taken@example.com"
    owner, _ = User.objects.get_or_create(email=taken, defaults={"full_name": "Bench Owner"})
    EmailAddress.objects.get_or_create(
        user=owner, email=taken, defaults={"verified": True, "primary": True}
    )
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
            order = [("new", fresh), ("existing", taken)]
            if n % 2:
                order.reverse()
            for case, email in order:
                elapsed = post(email, 2 * n + (case == "new"))
                if n >= 2:
                    times[case].append(elapsed)
    finally:
        User.objects.filter(email__in=created).delete()
    return statistics.median(times["existing"]), statistics.median(times["new"])


def report() -> str:
    existing, new = signup_medians()
    gap = abs(new - existing)
    verdict = "ok" if gap <= TARGET_MS else "HIGH"
    return (
        f"signup: existing email {existing:.1f} ms, new email {new:.1f} ms (medians); "
        f"gap {gap:.1f} ms (target: at most {TARGET_MS:.0f}) {verdict}"
    )


if __name__ == "__main__":
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ipmart.settings.bench")
    import django

    django.setup()
    print(report())
