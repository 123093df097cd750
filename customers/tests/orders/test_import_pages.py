"""The order import page: who may use it, the queued task, progress and summary, the admin door."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from customers.orders import service
from customers.orders.models import Order, OrderImport, OrderImportStatus
from customers.tasks import run_order_import
from customers.tests.orders.factories import ONLINE_RETAIL

pytestmark = pytest.mark.django_db
UPLOAD = reverse("customers:order-import")


@pytest.fixture
def run_inline(monkeypatch):
    """Run the task in the test process when the upload commits (no worker)."""
    ran: list[str] = []

    def enqueue(*, import_id: int) -> None:
        ran.append(service.order_import_run(import_id=import_id))

    monkeypatch.setattr(service, "order_import_enqueue", enqueue)
    return ran


def upload(client: Client, text: str = ONLINE_RETAIL, **data):
    file = SimpleUploadedFile("retail.csv", text.encode(), content_type="text/csv")
    return client.post(UPLOAD, {"file": file, **data})


def test_anonymous_goes_to_login(anon_client):
    assert anon_client.get(UPLOAD).status_code == 302


@pytest.mark.parametrize("persona", ["viewer_user", "outsider_user"])
def test_viewer_and_outsider_may_not_import(request, persona):
    client = Client()
    client.force_login(request.getfixturevalue(persona))
    assert client.get(UPLOAD).status_code == 403
    assert upload(client).status_code == 403
    job = OrderImport.objects.create(file_name="x.csv")
    assert client.get(reverse("customers:order-import-detail", args=[job.pk])).status_code == 403
    assert client.get(reverse("customers:order-import-status", args=[job.pk])).status_code == 403
    assert not Order.objects.exists()


@pytest.mark.parametrize("persona", ["marketer_client", "admin_client"])
def test_upload_queues_the_task_and_shows_the_summary(request, persona, run_inline, django_capture_on_commit_callbacks):
    client = request.getfixturevalue(persona)
    assert client.get(UPLOAD).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client)
    assert response.status_code == 302
    assert run_inline == ["done"]
    job = OrderImport.objects.get()
    assert job.status == OrderImportStatus.SUCCEEDED and job.progress == 100 and job.stored_path == ""
    assert Order.objects.count() == 4
    page = client.get(response.url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Lines without a customer" in html and "Non-product lines" in html
    status = client.get(reverse("customers:order-import-status", args=[job.pk])).json()
    assert status["done"] and status["counts"]["lines"] == 6


def test_running_import_shows_progress_and_refreshes(marketer_client):
    job = OrderImport.objects.create(file_name="big.csv", status=OrderImportStatus.RUNNING, progress=40, rows_read=1200)
    html = marketer_client.get(reverse("customers:order-import-detail", args=[job.pk])).content.decode()
    assert 'http-equiv="refresh"' in html and "40 %" in html and "1,200 lines read" in html


def test_refused_file_shows_the_reason(marketer_client, run_inline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(marketer_client, "InvoiceNo,InvoiceDate,Quantity,UnitPrice\r\n1,2011-01-01,1,1\r\n")
    assert run_inline == ["failed"]
    html = marketer_client.get(response.url).content.decode()
    assert "no customer column" in html and "Nothing was changed." in html


def test_bad_columns_option_is_a_form_error(marketer_client):
    response = upload(marketer_client, columns="customer_id,colour")
    assert response.status_code == 400
    assert "is not a field" in response.content.decode()
    assert not OrderImport.objects.exists()


def test_task_runs_a_queued_import_once(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text(ONLINE_RETAIL)
    job = OrderImport.objects.create(file_name="o.csv", stored_path=str(path), options={})
    assert run_order_import(job.pk) == "done"
    assert run_order_import(job.pk) == "skipped"
    assert not path.exists()


def test_admin_lists_orders_read_only_and_adds_via_the_upload(admin_client):
    service.order_import(file=io.BytesIO(ONLINE_RETAIL.encode()), file_name="r.csv")
    assert admin_client.get(reverse("admin:customers_order_changelist")).status_code == 200
    order = Order.objects.get(order_id="536365")
    assert admin_client.get(reverse("admin:customers_order_change", args=[order.pk])).status_code == 200
    assert admin_client.get(reverse("admin:customers_orderline_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:customers_orderimport_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:customers_orderimport_add")).url == UPLOAD


def test_order_import_pages_sit_under_imports_in_the_navigation(marketer_client):
    html = marketer_client.get(UPLOAD).content.decode()
    assert 'href="/customers/imports/" aria-current="true">Imports</a>' in html
    assert 'aria-current="true">Customers</a>' not in html and 'aria-current="page">Customers</a>' not in html
