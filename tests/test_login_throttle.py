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
