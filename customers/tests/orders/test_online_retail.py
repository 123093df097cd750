"""Online Retail (541,909 lines) imported unchanged through the page: every line accounted for.

About 15 s on PostgreSQL, 90 s on SQLite, hence `slow`.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer
from customers.orders import service
from customers.orders.models import Order, OrderImport, OrderImportStatus, OrderLine

pytestmark = [pytest.mark.django_db, pytest.mark.datasets, pytest.mark.slow]


def test_online_retail_through_the_page(datasets, marketer_client, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(
        service, "order_import_enqueue", lambda *, import_id: service.order_import_run(import_id=import_id)
    )
    data = (datasets / "online_retail" / "online_retail.csv.gz").read_bytes()
    upload = SimpleUploadedFile("online_retail.csv.gz", data, content_type="application/gzip")
    with django_capture_on_commit_callbacks(execute=True):
        response = marketer_client.post(reverse("customers:order-import"), {"file": upload})
    assert response.status_code == 302
    job = OrderImport.objects.get()
    assert job.status == OrderImportStatus.SUCCEEDED, job.error
    counts = job.counts
    assert counts["lines"] == counts["imported"] == OrderLine.objects.count() == 541_909
    assert counts["with_customer"] == 406_829
    assert counts["without_customer"] == 135_080
    assert counts["cancellations"] == 9_288  # lines of C-invoices
    assert counts["returns"] == 10_624  # those and the other negative quantities
    assert counts["non_product"] == 2_916  # postage, fees, manual adjustments, ...
    assert counts["customers_created"] == Customer.objects.count() == 4_372
    assert counts["orders"] == Order.objects.count() == 25_900
    assert Order.objects.filter(is_cancellation=True).count() == 3_836
    assert "406,829" in marketer_client.get(response.url).content.decode()
