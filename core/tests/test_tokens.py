"""The self-service API token page: shown once, listed by prefix, revocable by its owner only, audited."""

from __future__ import annotations

import re

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import Activity

pytestmark = [pytest.mark.django_db]
URL = "/account/tokens/"


def _new_key(response) -> str:
    match = re.search(r'<code class="token-key"[^>]*>([0-9a-f]{40})</code>', response.content.decode())
    assert match, "the new key is shown"
    return match.group(1)


def test_anonymous_goes_to_login(anon_client):
    for response in (anon_client.get(URL), anon_client.post(URL, {"action": "create"})):
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Token.objects.exists()


@pytest.mark.parametrize("persona", ["admin", "marketer", "viewer", "outsider"])
def test_any_logged_in_user_creates_a_token_shown_once(persona, client, request):
    user = request.getfixturevalue(f"{persona}_user")
    client.force_login(user)
    assert "You have no API token" in client.get(URL).content.decode()
    created = client.post(URL, {"action": "create"})
    key = _new_key(created)
    assert Token.objects.get(user=user).key == key
    later = client.get(URL).content.decode()
    assert key not in later and f"{key[:8]}…" in later
    # The key works for the API (with the user's own permissions).
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/campaigns/").status_code in (200, 403)
    entry = Activity.objects.get(verb="token.create")
    assert entry.actor == user and entry.object_id == key[:8] and key not in str(entry.object_repr)


def test_regenerate_replaces_the_old_key(marketer_client, marketer_user):
    first = _new_key(marketer_client.post(URL, {"action": "create"}))
    second = _new_key(marketer_client.post(URL, {"action": "create"}))
    assert first != second
    assert list(Token.objects.filter(user=marketer_user).values_list("key", flat=True)) == [second]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert api.get("/api/campaigns/").status_code == 401


def test_revoke_own_token(marketer_client, marketer_user):
    key = _new_key(marketer_client.post(URL, {"action": "create"}))
    response = marketer_client.post(URL, {"action": "revoke", "prefix": key[:8]})
    assert response.status_code == 302
    assert not Token.objects.filter(user=marketer_user).exists()
    assert Activity.objects.filter(verb="token.revoke", actor=marketer_user, object_id=key[:8]).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/campaigns/").status_code == 401


def test_another_users_token_is_not_revocable(marketer_client, viewer_user):
    other = Token.objects.create(user=viewer_user)
    for prefix in (other.key[:8], other.key):
        response = marketer_client.post(URL, {"action": "revoke", "prefix": prefix})
        assert response.status_code == 404
    assert Token.objects.filter(pk=other.pk).exists()
    page = marketer_client.get(URL).content.decode()
    assert other.key[:8] not in page


def test_csrf_is_required(marketer_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer_user)
    assert client.post(URL, {"action": "create"}).status_code == 403
    assert not Token.objects.exists()


def test_unknown_action_and_short_prefix(marketer_client):
    response = marketer_client.post(URL, {"action": "steal"})
    assert response.status_code == 400 and "action: expected create or revoke; got 'steal'" in response.content.decode()
    response = marketer_client.post(URL, {"action": "revoke", "prefix": "ab"}, follow=True)
    assert "prefix: expected the first 8 characters of your token; got &#x27;ab&#x27;" in response.content.decode()
