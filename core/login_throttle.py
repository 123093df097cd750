"""Login throttling (django-axes) for the app and admin logins: failures counted per username and IP address.

The backend is django-axes's, except that an authentication without a request (a management command, a
shell, a test calling `authenticate`) is not throttled: throttling guards logins over the web.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LoginThrottleBackend(AxesStandaloneBackend):
    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
