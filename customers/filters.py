"""Extra filters of the customers list, contributed by higher apps.

The customers app may not read segmentation (a layer contract), yet the list filters by segment. A higher
app registers a `ListFilter` from its `AppConfig.ready()` (segmentation registers "segment" in
`segmentation/customer_filters.py`); `customers.selectors.customers.customer_query_parse` validates the
request's value against the filter's choices and `customer_list` applies it, so a saved audience built on
those two functions honours every registered filter too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

#: Grouped choices: [(group label, [(value, label), ...]), ...].
Choices = list[tuple[str, list[tuple[str, str]]]]
#: GET parameters the list itself uses; a registered filter may not take one of them.
RESERVED = frozenset({"q", "match", "gender", "age_min", "age_max", "sort", "page", "cols"})


@dataclass(frozen=True)
class ListFilter:
    """One extra filter: its GET parameter `name`, a `label`, its `choices` (read at each request) and
    `apply(queryset, value) -> queryset`, called only with a value among the choices."""

    name: str
    label: str
    choices: Callable[[], Choices]
    apply: Callable[[QuerySet, str], QuerySet]

    def values(self) -> dict[str, str]:
        """Every allowed value -> its label with its group ("Behaviour: Big spenders")."""
        return {value: f"{group}: {label}" for group, options in self.choices() for value, label in options}


_REGISTRY: dict[str, ListFilter] = {}


def list_filter_register(list_filter: ListFilter) -> None:
    """Add (or replace, by name) an extra list filter. Called from an AppConfig.ready()."""
    if list_filter.name in RESERVED or "." in list_filter.name:
        raise ValueError(f"name: {list_filter.name!r} is taken by the customers list; choose another")
    _REGISTRY[list_filter.name] = list_filter


def list_filters() -> list[ListFilter]:
    """The registered extra filters, in registration order."""
    return list(_REGISTRY.values())


def list_filter_get(name: str) -> ListFilter | None:
    return _REGISTRY.get(name)
