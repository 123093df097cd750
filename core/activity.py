"""Activity entries in words: each verb's short label and sentence, registered by the app that records it.

core never imports a higher app. Each app that records activity has an `activity_sentences` module that
registers its verbs here; core discovers those modules at start (`CoreConfig.ready`, like the admin's
`admin.py`). An app may also register how to name its objects in bulk (one query per object type for a
page of entries), e.g. a run as 'run #4 of “Behaviour”' whatever its stored repr was.

A sentence is a `str.format` template over the entry's fields:
  {actor}   the user's name, or "Segmenta" for the system;
  {object}  the object's name (the registered namer's, else the stored repr), {id} its id, {type} its type;
  every key of `detail`, and `before_<key>` / `after_<key>` of the before and after states.
A missing field reads as "?", so a sentence never fails on an old entry.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from core.models import Activity

SYSTEM_ACTOR = "Segmenta"


@dataclass(frozen=True)
class Verb:
    label: str  # "Run activated", in the filter's choices
    sentence: str  # "{actor} activated {object}"


VERBS: dict[str, Verb] = {}
# object_type ("segmentation.SegmentRun") -> function(ids) -> {id: name}
OBJECT_NAMERS: dict[str, Callable[[list[str]], Mapping[str, str]]] = {}


def activity_verb_register(verb: str, *, label: str, sentence: str) -> None:
    """Register (or replace) the words of one verb."""
    VERBS[verb] = Verb(label=label, sentence=sentence)


def activity_object_namer_register(object_type: str, namer: Callable[[list[str]], Mapping[str, str]]) -> None:
    """Register how to name objects of `object_type` from their ids (missing ids fall back to the stored repr)."""
    OBJECT_NAMERS[object_type] = namer


def activity_verb_label(verb: str) -> str:
    """'segmentation.run_activated' -> 'Run activated' (registered), else the verb's last part in words."""
    found = VERBS.get(verb)
    if found:
        return found.label
    return verb.rpartition(".")[2].replace("_", " ").strip().capitalize() or verb


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


_FORMATTER = string.Formatter()


def _text(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "none"}[value]
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def activity_sentence(activity: Activity, *, object_name: str | None = None) -> str:
    """One entry as a sentence: 'ana activated run #4 of “Behaviour” (5 segments)'."""
    actor = activity.actor.get_username() if activity.actor_id and activity.actor else SYSTEM_ACTOR
    fields = _Fields(
        {f"before_{k}": _text(v) for k, v in (activity.before or {}).items()}
        | {f"after_{k}": _text(v) for k, v in (activity.after or {}).items()}
        | {str(k): _text(v) for k, v in (activity.detail or {}).items()}
    )
    fields.update(
        actor=actor,
        object=object_name or activity.object_repr or f"{activity.object_type} #{activity.object_id}",
        id=activity.object_id,
        type=activity.object_type,
    )
    found = VERBS.get(activity.verb)
    if found is None:
        return f"{actor}: {activity_verb_label(activity.verb).lower()} {fields['object']}".strip()
    try:
        text = _FORMATTER.vformat(found.sentence, (), fields)
    except (IndexError, KeyError, ValueError, AttributeError):  # a malformed template: say what we know
        text = f"{actor}: {found.label.lower()} {fields['object']}"
    # A sentence opens with a capital, except on a user's name, written as the user wrote it.
    return text if found.sentence.startswith("{actor}") else text[:1].upper() + text[1:]


def activity_details(activity: Activity) -> list[str]:
    """The entry's details as 'Key: value' lines, empty values left out ('Rows: 1,200', 'Format: csv')."""
    return [
        f"{str(k).replace('_', ' ').capitalize()}: {_text(v)}"
        for k, v in (activity.detail or {}).items()
        if v not in (None, "", [], {})
    ]


def activity_sentences(activities: Iterable[Activity]) -> list[tuple[Activity, str, list[str]]]:
    """Each entry with its sentence and details; objects are named by their app's namer, one call per type."""
    entries = list(activities)
    ids: dict[str, set[str]] = {}
    for a in entries:
        if a.object_id and a.object_type in OBJECT_NAMERS:
            ids.setdefault(a.object_type, set()).add(a.object_id)
    names: dict[tuple[str, str], str] = {}
    for object_type, wanted in ids.items():
        for object_id, name in OBJECT_NAMERS[object_type](sorted(wanted)).items():
            names[(object_type, str(object_id))] = name
    return [
        (a, activity_sentence(a, object_name=names.get((a.object_type, a.object_id))), activity_details(a))
        for a in entries
    ]
