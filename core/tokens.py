"""API tokens, self-service: each user creates, regenerates and revokes their own, every change audited.

Tokens are DRF's `rest_framework.authtoken` (what `TokenAuthentication` reads): one token per user. Creating
when one exists replaces it (the old key stops working at once). The full key is returned only by
`token_create`, for the page to show once; afterwards only its first `PREFIX_LENGTH` characters are shown
or audited. DRF does not record when a token was last used.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework.authtoken.models import Token

from core.exceptions import DataError
from core.services import activity_record

PREFIX_LENGTH = 8


def token_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


def _audit(*, actor: Any, verb: str, key: str) -> None:
    prefix = token_prefix(key)
    activity_record(
        actor=actor,
        verb=verb,
        object_type="authtoken.Token",
        object_id=prefix,
        object_repr=f"API token {prefix}… of {actor.get_username()}",
    )


def token_for(*, user: Any) -> Token | None:
    """The user's token, or None."""
    return Token.objects.filter(user=user).first()


@transaction.atomic
def token_create(*, user: Any) -> Token:
    """A new token for `user` (replacing the one they had: it stops working). Returns it with its full key."""
    old = Token.objects.select_for_update().filter(user=user).first()
    if old is not None:
        old_key = old.key
        old.delete()
        _audit(actor=user, verb="token.revoke", key=old_key)
    token = Token.objects.create(user=user)
    _audit(actor=user, verb="token.create", key=token.key)
    return token


@transaction.atomic
def token_revoke(*, user: Any, prefix: str) -> None:
    """Revoke `user`'s own token whose key starts with `prefix`; another user's token is never matched."""
    if len(prefix or "") < PREFIX_LENGTH:
        raise DataError(f"prefix: expected the first {PREFIX_LENGTH} characters of your token; got {prefix!r}")
    token = Token.objects.select_for_update().filter(user=user, key__startswith=prefix).first()
    if token is None:
        raise Token.DoesNotExist(f"you have no token starting with {prefix!r}")
    key = token.key
    token.delete()
    _audit(actor=user, verb="token.revoke", key=key)
