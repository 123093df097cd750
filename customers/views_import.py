"""The import pages: upload (Marketers and Admins), the list of imports and one import's outcome."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from customers.forms import CustomerImportForm
from customers.models import ImportJob

IMPORTS_PER_PAGE = 50


@permission_required("customers.import_customers", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = CustomerImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        result = form.run_import(user=request.user, source="upload")
        if result is not None:
            job = result.job
            if result.dry_run:
                messages.info(
                    request,
                    f"Dry run of {job.file_name}: {result.added} would be added, {result.updated} updated, "
                    f"{result.rejected} rejected. Nothing was saved.",
                )
            else:
                messages.success(
                    request,
                    f"Imported {job.file_name}: {result.added} added, {result.updated} updated, "
                    f"{result.rejected} rejected.",
                )
            return redirect("customers:import-detail", pk=job.pk)
    recent = ImportJob.objects.select_related("created_by").defer("rejected_csv")[:5]
    return render(
        request,
        "customers/import.html",
        {"form": form, "recent": recent, "max_bytes": settings.SEGMENTA_MAX_UPLOAD_BYTES},
        status=400 if form.errors else 200,
    )


@permission_required("customers.view_importjob", raise_exception=True)
@require_GET
def import_list(request):
    jobs = ImportJob.objects.select_related("created_by").defer("rejected_csv")
    page = Paginator(jobs, IMPORTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "customers/import_list.html", {"page": page, "jobs": page.object_list})


@permission_required("customers.view_importjob", raise_exception=True)
@require_GET
def import_detail(request, pk: int):
    job = get_object_or_404(ImportJob.objects.select_related("created_by").defer("rejected_csv"), pk=pk)
    has_rejected = ImportJob.objects.filter(pk=pk).exclude(rejected_csv="").exists()
    return render(request, "customers/import_detail.html", {"job": job, "has_rejected": has_rejected})


@permission_required("customers.import_customers", raise_exception=True)
@require_GET
def import_rejected(request, pk: int):
    """The rejected rows of an import as CSV (written formula-safe by the service)."""
    job = get_object_or_404(ImportJob, pk=pk)
    if not job.rejected_csv:
        return HttpResponse("This import rejected no rows.", status=404, content_type="text/plain")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", job.file_name.rsplit(".", 1)[0]) or "import"
    response = HttpResponse(job.rejected_csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}-rejected-{job.pk}.csv"'
    return response
