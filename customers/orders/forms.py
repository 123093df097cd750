"""The order-file upload form (the page and the admin share it)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from core.exceptions import DataError
from customers.imports.columns import mapping_parse
from customers.orders.columns import ORDER_FIELDS
from customers.orders.service import order_import_options


class OrderImportForm(forms.Form):
    file = forms.FileField(
        label="Order file",
        help_text="CSV, TSV, whitespace-separated text or Excel (.xlsx), also gzip-compressed (.gz); one line per row.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx,.gz"}),
    )
    columns = forms.CharField(
        label="Columns of a file without a header row",
        required=False,
        max_length=500,
        help_text="Names in order, '-' to skip one, e.g. customer_id,-,date,quantity,amount. "
        "Leave empty when the first row names the columns.",
    )
    mapping = forms.CharField(
        label="Column mapping",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"One SOURCE=FIELD per line for headers not recognised, e.g. Beleg=order_id. "
        f"Fields: {', '.join(ORDER_FIELDS)}.",
    )
    day_first = forms.BooleanField(
        label="Dates are day first", required=False, help_text="Read 1/12/2010 as 1 December 2010."
    )
    skip_invalid = forms.BooleanField(
        label="Skip invalid lines",
        required=False,
        help_text="Import the valid lines and list the rejected ones. Without it, a file with any invalid "
        "line changes nothing.",
    )
    dry_run = forms.BooleanField(
        label="Dry run", required=False, help_text="Check the file and count what it holds, without saving."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text += f" At most {filesizeformat(settings.SEGMENTA_MAX_UPLOAD_BYTES)}."

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.SEGMENTA_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(f"The file is {upload.size:,} bytes; the upload limit is {limit:,} bytes.")
        return upload

    def clean(self):
        data = super().clean()
        try:
            mapping = mapping_parse([line for line in (data.get("mapping") or "").splitlines() if line.strip()])
            data["options"] = order_import_options(
                mapping=mapping,
                columns=(data.get("columns") or "").strip(),
                day_first=bool(data.get("day_first")),
                skip_invalid=bool(data.get("skip_invalid")),
            )
        except DataError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data
