"""Template filters for customer values: `{{ value|number }}`, `{{ value|with_unit:unit }}`; the customer list's rows.

The rule lives once, in `segmentation.ml.formatting` (segment pages and charts use it too).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from segmentation.ml.formatting import format_number, format_with_unit

register = template.Library()


@register.filter
def number(value: Any) -> str:
    """58138 -> '58,138'; 86.54 -> '86.5'; None -> '—'."""
    return format_number(value)


@register.filter
def with_unit(value: Any, unit: str = "") -> str:
    """58138 with '$' -> '$58,138'; 15 with 'k$' -> '15 k$'; None -> '—'."""
    return format_with_unit(value, unit or "")


@register.simple_tag
def customer_rows(rows: Iterable[tuple[Any, Any]], *, segment_column: bool) -> SafeString:
    """The customer list's table rows: (customer, segment or None) pairs, each customer with `shown_values`.

    Written in Python rather than a template loop: the loop's variable lookups were half the list's time (50
    rows, about 0.2 ms each). The cells are those the template wrote: id linked to its page, gender, age,
    income, spending score, update time (ISO and minutes), the chosen columns, and the segment when
    `segment_column`; every value escaped.
    """
    link = _detail_link()
    out = []
    for c, segment in rows:
        updated = timezone.localtime(c.updated_at) if c.updated_at is not None else None
        cells = [
            f'<td><a href="{escape(link(c.external_id))}">{escape(c.external_id)}</a></td>',
            f"<td>{escape(c.get_gender_display())}</td>",
            f'<td class="num">{"—" if c.age is None else escape(c.age)}</td>',
            f'<td class="num">{escape(format_number(c.annual_income))}</td>',
            f'<td class="num">{escape(format_number(c.spending_score))}</td>',
            (
                f'<td><time datetime="{updated.isoformat()}">{updated.strftime("%Y-%m-%d %H:%M")}</time></td>'
                if updated
                else '<td><time datetime=""></time></td>'
            ),
        ]
        for col, value in c.shown_values:
            if col.kind == "number":
                cells.append(f'<td class="num">{escape(format_number(value))}</td>')
            else:
                cells.append(f"<td>{'—' if value is None else escape(value)}</td>")
        if segment_column:
            if segment is not None:
                color = escape(segment.color or "#9aa5b1")
                cells.append(f'<td><span class="swatch" style="background:{color}"></span>{escape(segment.name)}</td>')
            else:
                cells.append('<td><span class="muted">—</span></td>')
        out.append("<tr>\n      " + "\n      ".join(cells) + "\n    </tr>")
    return mark_safe("\n    ".join(out))  # noqa: S308 - every value escaped above


_ID = "customer-id-placeholder"


def _detail_link() -> Callable[[str], str]:
    """A customer's page address, as `{% url 'customers:detail' id %}` writes it (the id quoted into the path),
    reversed once per page rather than once per row."""
    pattern = reverse("customers:detail", args=[_ID])
    head, tail = pattern.split(_ID)
    return lambda external_id: head + quote(str(external_id), safe=RFC3986_SUBDELIMS + "/~:@") + tail
