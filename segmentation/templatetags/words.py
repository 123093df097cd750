"""Internal keys as words on pages: `{% load words %}` then `{{ key|criterion_label }}`,
`{{ key|criterion_help }}`, `{{ key|flag_label }}`, `{{ key|flag_help }}`, or `{% flag_tags flags %}`.

The words live in the engine (`segmentation.ml.criteria`, `segmentation.ml.flags`): one mapping each."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django import template
from django.utils.html import format_html, format_html_join

from segmentation.ml.charts.base import feature_label, feature_name, feature_unit, format_value
from segmentation.ml.criteria import criterion_explanation, criterion_label
from segmentation.ml.flags import flag_explanation, flag_label
from segmentation.ml.formatting import format_duration

register = template.Library()

register.filter("criterion_label", criterion_label)
register.filter("criterion_help", criterion_explanation)
register.filter("flag_label", flag_label)
register.filter("flag_help", flag_explanation)


@register.simple_tag
def flag_tags(flags: Iterable[str] | None) -> str:
    """Each flag as a tag in words, its key kept as the CSS class and its meaning on hover."""
    return format_html_join(
        " ", '<span class="tag {}" title="{}">{}</span>', ((f, flag_explanation(f), flag_label(f)) for f in flags or ())
    )


@register.simple_tag
def criterion_name(key: str) -> str:
    """A criterion's name with its explanation on hover: <abbr title="…">Calinski–Harabasz</abbr>."""
    return format_html('<abbr class="criterion" title="{}">{}</abbr>', criterion_explanation(key), criterion_label(key))


register.filter("feature_name", feature_name)

STRATEGY_SOURCES = {
    "playbook": "Playbook rule",
    "override": "Edited by a person",
    "carried": "Carried from the previous run",
}


@register.filter
def strategy_source(key: str) -> str:
    """Where a segment's strategy came from, in words."""
    return STRATEGY_SOURCES.get(key, str(key).replace("_", " ").capitalize())


@register.simple_tag
def feature_value(feature: str, value: object, units: Mapping[str, str] | None = None) -> str:
    """A feature's value in its unit ('$58,138', '42 years'), the run's own unit first."""
    return format_value(feature, value, feature_unit(feature, units))  # type: ignore[arg-type]


@register.simple_tag
def feature_heading(feature: str, units: Mapping[str, str] | None = None) -> str:
    """'Annual income (k$)'."""
    return feature_label(feature, units)


SCALERS = {
    "minmax": "min–max scaling (each feature to 0–1)",
    "standard": "standardising (each feature to mean 0, standard deviation 1)",
    "robust": "robust scaling (median and interquartile range)",
    "shared": "one shared scale for features in the same unit",
    "none": "no scaling",
}


@register.filter
def scaler_label(key: str | None) -> str:
    return SCALERS.get(key or "minmax", str(key))


register.filter("duration", format_duration)
