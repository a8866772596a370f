"""Failed staff sign-ins leave access records (issue 12, item 3; DESIGN.md *Audit*: "Failed token
requests and sign-ins are recorded (the client id or user name tried, never the secret)").

Django sends `user_login_failed` for every failed `authenticate()` with a request: the hub's
sign-in page and the admin's alike. django-axes refuses a locked-out sign-in through the same
signal (its backend raises PermissionDenied), marking the request `axes_locked_out`: that one is
recorded as a 429. A burst from one address and user name is folded into one record
(audit.bursts).
"""

from typing import Any

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from audit.bursts import record_refused
from core.context import Channel, Origin

# A user name is recorded as typed, up to this length (a password typed into it is the risk
# DESIGN.md accepts by asking for the user name).
USERNAME_RECORDED_LENGTH = 150


@receiver(user_login_failed, dispatch_uid="audit.failed_sign_in")
def record_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    if request is None:
        return
    locked_out = getattr(request, "axes_locked_out", False)
    record_refused(
        # The sign-in page and the admin: people in a browser.
        origin=Origin.of(request, Channel.WEB),
        actor=None,
        status=429 if locked_out else 401,
        tried=str(credentials.get("username", ""))[:USERNAME_RECORDED_LENGTH],
    )
