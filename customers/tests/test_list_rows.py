"""The customer list's rows (written by the `customer_rows` tag): every value escaped, each id linked exactly as
`{% url 'customers:detail' id %}` would, times in the site's time zone."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.urls import reverse

from customers.models import AttributeKind, Customer, CustomerAttribute

pytestmark = [pytest.mark.django_db]


def test_rows_escape_values_and_link_ids_like_the_url_tag(viewer_client):
    CustomerAttribute.objects.create(key="note", label="Note", kind=AttributeKind.TEXT)
    odd = ["<b>x&y</b> 1/2", "ünï cødé?#%", "a'b\"c"]
    for i, external_id in enumerate(odd):
        Customer.objects.create(
            external_id=external_id, age=30 + i, annual_income=1234.5, attributes={"note": "<i>n</i>"}
        )
    Customer.objects.filter(external_id=odd[0]).update(updated_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    page = viewer_client.get("/customers/?cols=note").content.decode()
    for external_id in odd:
        link = html.escape(reverse("customers:detail", args=[external_id]))
        assert f'<td><a href="{link}">{html.escape(external_id)}</a></td>' in page
    assert "<b>x&y</b>" not in page and "<i>n</i>" not in page and "&lt;i&gt;n&lt;/i&gt;" in page
    assert '<td><time datetime="2026-01-02T03:04:05+00:00">2026-01-02 03:04</time></td>' in page
    assert '<td class="num">1,234.5</td>' in page or '<td class="num">1,234</td>' in page
