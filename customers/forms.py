"""Forms of the customers app: the import upload (page and admin share it)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from core.exceptions import DataError
from customers.imports.jobs import customer_import_queue
from customers.imports.service import customer_import

# Canonical field -> label of its override field on the form. "Id column" is named in the
# service's "no id column" message, keep them in step.
MAPPING_FIELDS = {
    "external_id": "Id column",
    "gender": "Gender column",
    "age": "Age column",
    "annual_income": "Annual income (k$) column",
    "spending_score": "Spending score (1-100) column",
}


class CustomerImportForm(forms.Form):
    file = forms.FileField(
        label="Customer file",
        help_text="CSV, TSV or Excel (.xlsx); UTF-8 or Latin-1. The header row names the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )
    skip_invalid = forms.BooleanField(
        label="Skip invalid rows",
        required=False,
        help_text="Import the valid rows and download the rejected ones with the reason for each. "
        "Without it, a file with any invalid row changes nothing.",
    )
    number_rows = forms.BooleanField(
        label="Number the rows (the file has no id column)",
        required=False,
        help_text="Each customer's id becomes the file name and its row number, e.g. wholesale-2 for the "
        "first data row of wholesale.csv. Re-importing a file of the same name updates the same rows by "
        "position (row 2 is always wholesale-2, so reordering the file's rows moves values between customers); "
        "a file of another name adds new customers.",
    )
    dry_run = forms.BooleanField(
        label="Dry run", required=False, help_text="Check the file and count what would change, without saving."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.SEGMENTA_MAX_UPLOAD_BYTES
        self.fields["file"].help_text += f" At most {filesizeformat(limit)}."
        for field_name, label in MAPPING_FIELDS.items():
            self.fields[f"map_{field_name}"] = forms.CharField(
                label=label,
                required=False,
                max_length=255,
                help_text="Header in your file; leave empty to detect it.",
            )

    def mapping_fields(self):
        return [self[f"map_{name}"] for name in MAPPING_FIELDS]

    def clean(self):
        cleaned = super().clean()
        cleaned["mapping"] = self._mapping(cleaned)
        return cleaned

    def _mapping(self, cleaned: dict) -> dict[str, str]:
        """{header in the file: canonical field} from the filled override fields."""
        out: dict[str, str] = {}
        for name in MAPPING_FIELDS:
            header = (cleaned.get(f"map_{name}") or "").strip()
            if header:
                if header in out:
                    self.add_error(f"map_{name}", f"column {header!r} is already used for {out[header]}")
                    continue
                out[header] = name
        return out

    def mapping(self) -> dict[str, str]:
        return self.cleaned_data.get("mapping", {})

    def queue_import(self, *, user, source: str):
        """Queue the import of a large upload for the worker; returns its ImportJob (status queued)."""
        return customer_import_queue(
            upload=self.cleaned_data["file"],
            user=user,
            source=source,
            mapping=self.mapping(),
            skip_invalid=self.cleaned_data["skip_invalid"],
            number_rows=self.cleaned_data["number_rows"],
            dry_run=self.cleaned_data["dry_run"],
        )

    def run_import(self, *, user, source: str):
        """Import the uploaded file through `customer_import` (every door uses this).

        Returns the ImportResult, or None after adding the refusal (row, column, value) to the form.
        """
        upload = self.cleaned_data["file"]
        try:
            return customer_import(
                file=upload,
                file_name=upload.name,
                user=user,
                source=source,
                mapping=self.mapping(),
                skip_invalid=self.cleaned_data["skip_invalid"],
                number_rows=self.cleaned_data["number_rows"],
                dry_run=self.cleaned_data["dry_run"],
                max_bytes=settings.SEGMENTA_MAX_UPLOAD_BYTES,
            )
        except DataError as exc:
            self.add_error(None, str(exc))
            return None
