"""Login throttling (django-axes) for the app and admin logins: failures counted per username and IP address.

The backend is django-axes's, except that an authentication without a request (a management command, a
shell, a test calling `authenticate`) is not throttled: throttling guards logins over the web.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def client_ip(request: Any) -> str:
    """The address login failures are counted for (`AXES_CLIENT_IP_CALLABLE`).

    `REMOTE_ADDR`, unless the app runs behind a reverse proxy (`SEGMENTA_BEHIND_PROXY`): then the address the
    nearest `SEGMENTA_PROXY_COUNT` proxies saw, the entry that many places from the right of `X-Forwarded-For`
    (entries further left are whatever the client wrote, so they are never trusted). A header that is missing,
    too short or not an IP address falls back to `REMOTE_ADDR`.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    if not getattr(settings, "SEGMENTA_BEHIND_PROXY", False):
        return remote
    hops = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    count = getattr(settings, "SEGMENTA_PROXY_COUNT", 1)
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote
