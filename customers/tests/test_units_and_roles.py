"""Units and roles on every door and page: the command, the upload form, the admin, the customer pages
and the column registry selectors (the run configuration's use of them: segmentation/tests/test_config_roles.py)."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from customers import charts
from customers.imports.service import customer_import
from customers.models import CanonicalFieldRole, Customer, CustomerAttribute, ImportJob
from customers.selectors.columns import column_list, column_roles, column_units
from tests import synth

pytestmark = pytest.mark.django_db


@pytest.fixture
def personality(tmp_path):
    return customer_import(file=synth.personality_tsv(tmp_path / "marketing_campaign.csv"), source="command")


# ----------------------------------------------------------------------------- formatting
# The number rule itself: segmentation/tests/ml/test_formatting.py (segmentation.ml.formatting).


def test_histogram_labels_have_thousands_separators():
    fig = charts.histogram_figure(title="t", axis_title="Income ($)", edges=[0, 25000, 50000], counts=[3, 4])
    assert list(fig.data[0].customdata) == ["0 – 25,000", "25,000 – 50,000"]
    assert fig.layout.xaxis.separatethousands is True and fig.layout.xaxis.exponentformat == "none"
    assert fig.layout.xaxis.title.text == "Income ($)"


# ----------------------------------------------------------------------------- the registry


def test_column_roles_and_units_cover_canonical_fields_and_attributes(personality):
    roles, units = column_roles(), column_units()
    assert {k: roles[k] for k in ("gender", "age", "annual_income", "spending_score")} == {
        "gender": "demographic",
        "age": "demographic",
        "annual_income": "capacity",
        "spending_score": "monetary",
    }
    assert (roles["income"], units["income"]) == ("capacity", "$")
    assert (roles["mnt_wines"], units["mnt_wines"]) == ("monetary", "")
    assert roles["num_web_purchases"] == "frequency" and roles["recency"] == "recency"
    assert (units["age"], units["annual_income"], units["spending_score"]) == ("years", "k$", "1–100")
    assert set(roles) == set(units) == {c.key for c in column_list()}
    assert set(roles) >= set(CustomerAttribute.objects.values_list("key", flat=True))


def test_an_admin_overrides_a_canonical_role():
    CanonicalFieldRole.objects.create(field="spending_score", role="frequency")
    assert column_roles()["spending_score"] == "frequency"
    CanonicalFieldRole.objects.all().delete()
    assert column_roles()["spending_score"] == "monetary"


# ----------------------------------------------------------------------------- pages


def test_customer_detail_shows_income_in_dollars(personality, viewer_client):
    html = viewer_client.get(reverse("customers:detail", args=["5524"])).content.decode()
    assert "$58,138" in html
    assert "58138 k$" not in html and "k$" not in html.split('id="attributes"')[1]
    annual = re.search(r"<dt>Annual income</dt><dd>(.*?)</dd>", html).group(1)
    assert "missing" in annual


def test_mall_customer_shows_income_in_thousands(mall_csv, viewer_client):
    customer_import(file=mall_csv, source="command")
    html = viewer_client.get(reverse("customers:detail", args=["0200"])).content.decode()
    assert "<dt>Annual income</dt><dd>137 k$</dd>" in html
    listing = viewer_client.get(reverse("customers:list") + "?sort=-income").content.decode()
    assert '<td class="num">137</td>' in listing


def test_overview_shows_each_column_role_and_unit(personality, viewer_client):
    response = viewer_client.get(reverse("customers:overview"))
    html = response.content.decode()
    rows = dict(re.findall(r'<tr data-key="([^"]+)">.*?data-role="([^"]+)"', html))
    assert rows["income"] == "capacity" and rows["mnt_wines"] == "monetary"
    assert rows["num_store_purchases"] == "frequency" and rows["recency"] == "recency"
    assert rows["annual_income"] == "capacity" and rows["education"] == "demographic"
    assert re.search(
        r'<tr data-key="income"><td>Income</td><td><code>income</code></td><td>number</td><td>\$</td>', html
    )
    chosen = viewer_client.get(reverse("customers:overview") + "?column=income")
    assert "Income ($)" in chosen.context["distribution_chart"]  # the histogram's axis
    assert "e+0" not in chosen.context["distribution_chart"].split("customdata")[1][:2000]


def test_import_page_and_command_say_what_was_decided(personality, admin_client, tmp_path):
    job = personality.job
    html = admin_client.get(reverse("customers:import-detail", args=[job.pk])).content.decode()
    assert 'id="import-notes"' in html
    assert "Column &#x27;Income&#x27; was not imported as annual income (k$)" in html
    out = StringIO()
    call_command("import_customers", str(synth.wholesale_csv(tmp_path / "wholesale.csv")), "--number-rows", stdout=out)
    text = out.getvalue()
    assert "wholesale.csv: 440 rows, 440 added" in text
    assert "Note: The file has no id column: each row's id is 'wholesale-'" in text
    assert "Note: Roles of the new columns (an Admin can change them): demographic: Channel, Region; monetary: " in text


@pytest.mark.parametrize("door", ["upload", "admin"])
def test_number_the_rows_from_the_form(door, admin_client, tmp_path):
    data = synth.wholesale_csv(tmp_path / "w.csv").read_bytes()
    url = reverse("customers:import") if door == "upload" else reverse("admin:customers_importjob_import")
    page = admin_client.get(url).content.decode()
    assert 'name="number_rows"' in page and "Number the rows" in page and "by position" in page
    refused = admin_client.post(url, {"file": SimpleUploadedFile("Wholesale.csv", data)})
    assert refused.status_code == 400 and "--number-rows" in refused.content.decode()
    response = admin_client.post(url, {"file": SimpleUploadedFile("Wholesale.csv", data), "number_rows": "on"})
    assert response.status_code == 302
    job = ImportJob.objects.filter(status="succeeded").get()
    assert job.numbered_rows and job.rows_added == 440 and job.source == door
    assert Customer.objects.filter(external_id__startswith="wholesale-").count() == 440


def test_admin_edits_attribute_roles_and_units(personality, admin_client):
    changelist = admin_client.get(reverse("admin:customers_customerattribute_changelist")).content.decode()
    assert 'name="form-0-role"' in changelist and 'name="form-0-unit"' in changelist
    income = CustomerAttribute.objects.get(key="income")
    response = admin_client.post(
        reverse("admin:customers_customerattribute_change", args=[income.pk]),
        {"label": "Income", "unit": "€", "role": "capacity"},
    )
    assert response.status_code == 302
    assert column_units()["income"] == "€"
    assert admin_client.get(reverse("admin:customers_canonicalfieldrole_add")).status_code == 200
    response = admin_client.post(
        reverse("admin:customers_canonicalfieldrole_add"), {"field": "spending_score", "role": "frequency"}
    )
    assert response.status_code == 302 and column_roles()["spending_score"] == "frequency"
