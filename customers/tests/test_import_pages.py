"""The upload page, the imports pages and the admin import, for every persona."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from customers.models import Customer, ImportJob, ImportStatus

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path  # rejected rows kept by imports


GOOD = (
    b"CustomerID,Genre,Age,Annual Income (k$),Spending Score (1-100)\r\n0001,Male,19,15,39\r\n0002,Female,21,15,81\r\n"
)
BAD = GOOD + b"0003,Female,abc,16,6\r\n"


def upload(client, data: bytes = GOOD, name: str = "customers.csv", **fields):
    return client.post(reverse("customers:import"), {"file": SimpleUploadedFile(name, data), **fields})


def test_urls():
    assert reverse("customers:import") == "/customers/import/"
    assert reverse("customers:imports") == "/customers/imports/"


@pytest.mark.parametrize("url", ["/customers/import/", "/customers/imports/", "/customers/imports/1/"])
def test_anonymous_goes_to_login(anon_client, url):
    response = anon_client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = anon_client.post("/customers/import/", {"file": SimpleUploadedFile("c.csv", GOOD)})
    assert response.status_code == 302 and Customer.objects.count() == 0


def test_viewer_and_outsider_cannot_import(viewer_client, outsider_user):
    assert viewer_client.get("/customers/import/").status_code == 403
    assert upload(viewer_client).status_code == 403
    outsider = Client()
    outsider.force_login(outsider_user)
    assert upload(outsider).status_code == 403
    assert outsider.get("/customers/imports/").status_code == 403
    assert Customer.objects.count() == 0 and ImportJob.objects.count() == 0


@pytest.mark.parametrize("persona", ["marketer", "admin"])
def test_marketer_and_admin_import(request, persona):
    client = request.getfixturevalue(f"{persona}_client")
    page = client.get("/customers/import/")
    assert page.status_code == 200 and b'name="csrfmiddlewaretoken"' in page.content
    assert b"Id column" in page.content and b"Skip invalid rows" in page.content
    response = upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/customers/imports/{job.pk}/"
    assert Customer.objects.count() == 2
    assert (job.source, job.created_by.username, job.rows_added) == (
        "upload",
        request.getfixturevalue(f"{persona}_user").username,
        2,
    )
    detail = client.get(response["Location"])
    assert b"Imported customers.csv: 2 added, 0 updated, 0 rejected." in detail.content


def test_csrf_is_enforced(marketer_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer_user)
    assert upload(client).status_code == 403
    assert Customer.objects.count() == 0


def test_invalid_file_shows_the_message_and_changes_nothing(marketer_client):
    response = upload(marketer_client, BAD)
    assert response.status_code == 400
    assert "row 4, column Age: &#x27;abc&#x27; is not a number" in response.content.decode()
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get().status == ImportStatus.FAILED


def test_no_id_column_names_the_form_field_and_mapping_fixes_it(marketer_client):
    data = b"Client Ref,Age\r\nX1,30\r\n"
    response = upload(marketer_client, data)
    assert "the &#x27;Id column&#x27; field" in response.content.decode()
    response = upload(marketer_client, data, map_external_id="Client Ref")
    assert response.status_code == 302
    assert Customer.objects.get().external_id == "X1"


def test_skip_invalid_offers_the_rejected_rows(marketer_client, viewer_client):
    response = upload(marketer_client, BAD, skip_invalid="on")
    detail = marketer_client.get(response["Location"])
    job = ImportJob.objects.get()
    link = reverse("customers:import-rejected", args=[job.pk])
    assert link.encode() in detail.content
    csv_response = marketer_client.get(link)
    assert csv_response.status_code == 200 and csv_response["Content-Type"].startswith("text/csv")
    assert csv_response.streaming  # streamed from the job's file, not built in memory
    rows = list(csv.reader(io.StringIO(b"".join(csv_response.streaming_content).decode())))
    assert rows[0][-1] == "reason" and rows[1][0] == "4"
    assert rows[1][-1] == "row 4, column Age: 'abc' is not a number"
    assert Customer.objects.count() == 2
    # a viewer sees the import but neither the link nor the rows
    viewer_detail = viewer_client.get(response["Location"])
    assert viewer_detail.status_code == 200 and link.encode() not in viewer_detail.content
    assert viewer_client.get(link).status_code == 403


def test_dry_run_from_the_page(marketer_client):
    response = upload(marketer_client, GOOD, dry_run="on")
    assert response.status_code == 302
    assert Customer.objects.count() == 0
    assert ImportJob.objects.get().status == ImportStatus.DRY_RUN


def test_a_dry_run_keeps_no_file_of_rejected_rows(marketer_client, settings):
    response = upload(marketer_client, BAD, dry_run="on", skip_invalid="on")
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.status, job.rows_rejected, job.rejected_path) == (ImportStatus.DRY_RUN, 1, "")
    assert not any((settings.VAR_DIR / "import-rejected").iterdir())
    assert marketer_client.get(reverse("customers:import-rejected", args=[job.pk])).status_code == 404


def test_file_over_the_limit_refused(marketer_client, settings):
    settings.SEGMENTA_MAX_UPLOAD_BYTES = 50
    response = upload(marketer_client, GOOD)
    assert response.status_code == 400
    assert "the file is larger than the upload limit of 50 bytes; nothing was kept" in response.content.decode()
    assert Customer.objects.count() == 0


def test_imports_page_lists_every_import(marketer_client, viewer_client):
    upload(marketer_client, GOOD, name="first.csv")
    upload(marketer_client, BAD, name="second.csv")
    page = viewer_client.get("/customers/imports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "first.csv" in text and "second.csv" in text and "mark-marketer" in text
    assert "Import customers" not in text  # the viewer gets no import button
    assert "Import customers" in marketer_client.get("/customers/imports/").content.decode()


def test_admin_import_uses_the_service(admin_client, marketer_client, viewer_user):
    url = reverse("admin:customers_importjob_import")
    assert admin_client.get(reverse("admin:customers_importjob_changelist")).status_code == 200
    assert url.encode() in admin_client.get(reverse("admin:customers_importjob_changelist")).content
    response = admin_client.post(url, {"file": SimpleUploadedFile("a.csv", GOOD)})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.source == "admin" and Customer.objects.count() == 2
    assert admin_client.get(reverse("admin:customers_importjob_change", args=[job.pk])).status_code == 200
    refused = admin_client.post(url, {"file": SimpleUploadedFile("b.csv", BAD)})
    assert refused.status_code == 400 and b"is not a number" in refused.content
    assert marketer_client.get(url).status_code == 200  # marketers are staff with the import permission
    viewer = Client()
    viewer.force_login(viewer_user)
    assert viewer.get(url).status_code == 302  # not staff: the admin sends to its login
    for model in ("customer", "customerattribute", "importjob"):
        assert admin_client.get(reverse(f"admin:customers_{model}_changelist")).status_code == 200
