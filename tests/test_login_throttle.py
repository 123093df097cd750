"""Issue 14, finding 6: password guessing on the app and admin logins is locked out per username + IP."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.test import Client

from tests.fixtures import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ana(django_user_model):
    return make_user(django_user_model, "ana", None, staff=True)


def _guess(client: Client, url: str, password: str, ip: str = "10.0.0.1"):
    return client.post(url, {"username": "ana", "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_five_wrong_passwords_lock_the_login_then_the_right_one_is_refused(ana, url, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _guess(client, url, "wrong").status_code == 200  # the form again, with its error
    locked = _guess(client, url, "wrong")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode() and "“ana”" in locked.content.decode()
    right = _guess(client, url, "pw-ana")
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # another address, or another user from this address, is not locked
    assert _guess(Client(), url, "pw-ana", ip="10.0.0.2").status_code == 302


def test_a_right_password_resets_the_count(ana, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _guess(client, "/accounts/login/", "wrong")
    assert _guess(client, "/accounts/login/", "pw-ana").status_code == 302
    assert not AccessAttempt.objects.filter(username="ana", failures_since_start__gt=0).exists()


def test_the_app_and_admin_logins_share_the_count(ana, settings):
    client = Client()
    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        _guess(client, "/admin/login/" if i % 2 else "/accounts/login/", "wrong")
    assert _guess(client, "/admin/login/", "wrong").status_code == 429
    assert _guess(client, "/accounts/login/", "pw-ana").status_code == 429


def test_authentication_without_a_request_is_not_throttled(ana):
    assert authenticate(username="ana", password="pw-ana") == ana  # commands and the shell


def test_behind_a_proxy_failures_count_for_the_forwarded_client_not_the_proxy(ana, settings):
    settings.SEGMENTA_BEHIND_PROXY = True
    proxy = "10.9.9.9"

    def guess(password: str, client_ip: str, forwarded_for: str | None = None):
        return Client().post(
            "/accounts/login/",
            {"username": "ana", "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded_for or f"203.0.113.77, {client_ip}",  # the left entry is the client's own
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        guess("wrong", "198.51.100.1")
    assert guess("pw-ana", "198.51.100.1").status_code == 429  # the guesser is locked out
    assert guess("pw-ana", "198.51.100.2").status_code == 302  # another client behind the same proxy is not
    # a forged or broken header counts for the proxy's address, never for a made-up one
    assert guess("wrong", "", forwarded_for="not-an-ip").status_code == 200
    assert AccessAttempt.objects.filter(ip_address=proxy).exists()


def test_without_the_proxy_setting_forwarded_for_is_ignored(ana, settings):
    settings.SEGMENTA_BEHIND_PROXY = False
    for i in range(settings.AXES_FAILURE_LIMIT):
        Client().post(
            "/accounts/login/",
            {"username": "ana", "password": "wrong"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",  # a client cannot dodge the count by writing this header
        )
    locked = Client().post("/accounts/login/", {"username": "ana", "password": "pw-ana"}, REMOTE_ADDR="10.0.0.5")
    assert locked.status_code == 429
