"""Online Retail imported through the page: behaviour computed for its customers by the import's hook, then an
RFM segmentation and KMeans on log-scaled R, F, M both run and show on the dashboard with sensible names.

About 40 s on PostgreSQL, several minutes on SQLite, hence `slow`.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, CustomerAttribute
from customers.orders import service
from segmentation.models import Method, RunStatus, Segmentation
from segmentation.services import runs

pytestmark = [pytest.mark.django_db, pytest.mark.datasets, pytest.mark.slow]


def _run(seg: Segmentation):
    run = runs.run_request(segmentation=seg, requested_by=None, trigger="manual")
    runs.run_execute(run_id=run.pk, worker="test:1")
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def test_online_retail_behaviour_rfm_and_kmeans(
    datasets, admin_client, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(
        service, "order_import_enqueue", lambda *, import_id: service.order_import_run(import_id=import_id)
    )
    data = (datasets / "online_retail" / "online_retail.csv.gz").read_bytes()
    upload = SimpleUploadedFile("online_retail.csv.gz", data, content_type="application/gzip")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("customers:order-import"), {"file": upload})

    # behaviour of the 4,372 customers with an id: those with a purchase (4,335), as of 9 December 2011
    assert Customer.objects.count() == 4_372
    assert Customer.objects.filter(attributes__has_key="recency").count() == 4_335
    assert str(CustomerAttribute.objects.get(key="recency").computed_as_of) == "2011-12-09"
    champion = Customer.objects.get(external_id="12347").attributes
    assert (champion["recency"], champion["frequency"], champion["first_order"]) == (2, 7, "2010-12-07")

    rfm = _run(Segmentation.objects.create(name="RFM groups", method=Method.RFM))
    names = set(rfm.segments.values_list("name", flat=True))
    assert {"Champions", "Loyal", "At risk", "Lost", "Hibernating", "New"} <= names
    champions = rfm.segments.get(name="Champions")
    lost = rfm.segments.get(name="Lost")
    assert champions.centroid["recency"] < lost.centroid["recency"]
    assert champions.centroid["monetary"] > lost.centroid["monetary"]
    assert champions.strategy.startswith("Offer: ")

    kmeans = _run(
        Segmentation.objects.create(
            name="KMeans on log R, F, M", features=["recency", "frequency", "monetary"], transform="log"
        )
    )
    assert kmeans.chosen_k >= 2 and kmeans.rows_used > 4_000

    page = admin_client.get(reverse("segmentation:dashboard")).content.decode()
    assert "RFM groups" in page and "KMeans on log R, F, M" in page and "Champions" in page
