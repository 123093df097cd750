"""The core app's activity entries in words (discovered at start like every app's: `core.activity`)."""

from __future__ import annotations

from core.activity import activity_verb_register

for verb, label, sentence in (
    ("token.create", "API token created", "{actor} created {object}"),
    ("token.revoke", "API token revoked", "{actor} revoked {object}"),
):
    activity_verb_register(verb, label=label, sentence=sentence)
