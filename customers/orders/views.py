"""Order import pages: the upload (queues a task), one import's progress and summary, its status as JSON.

Marketers and Admins (`customers.import_customers`) only; Viewers get 403.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from customers.orders.forms import OrderImportForm
from customers.orders.models import OrderImport
from customers.orders.service import SUMMARY_KEYS, order_import_queue

can_import = permission_required("customers.import_customers", raise_exception=True)
SUMMARY_LABELS = {
    "lines": "Lines in the file",
    "imported": "Lines imported",
    "with_customer": "Lines with a customer",
    "without_customer": "Lines without a customer (kept, not in customer behaviour)",
    "cancellations": "Cancellation lines (C-invoices)",
    "returns": "Returns (negative quantity or cancelled)",
    "non_product": "Non-product lines (postage, fees, adjustments)",
    "customers_created": "Customers created",
    "orders": "Orders",
    "orders_replaced": "Orders re-imported (lines replaced)",
    "products": "Products",
    "rejected": "Lines rejected",
}


@require_http_methods(["GET", "POST"])
@can_import
def order_import_upload(request):
    form = OrderImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            job = order_import_queue(
                upload=form.cleaned_data["file"],
                user=request.user,
                options=form.cleaned_data["options"],
                dry_run=form.cleaned_data["dry_run"],
            )
        return redirect("customers:order-import-detail", pk=job.pk)
    recent = OrderImport.objects.select_related("created_by").defer("rejected_csv")[:5]
    return render(
        request, "customers/orders/import.html", {"form": form, "recent": recent}, status=400 if form.errors else 200
    )


@require_GET
@can_import
def order_import_detail(request, pk: int):
    job = get_object_or_404(OrderImport.objects.select_related("created_by").defer("rejected_csv"), pk=pk)
    summary = [(SUMMARY_LABELS[key], job.counts[key]) for key in SUMMARY_KEYS if key in job.counts]
    return render(request, "customers/orders/import_detail.html", {"job": job, "summary": summary})


@require_GET
@can_import
def order_import_status(request, pk: int):
    job = get_object_or_404(OrderImport.objects.defer("rejected_csv"), pk=pk)
    return JsonResponse(
        {
            "status": job.status,
            "stage": job.stage,
            "progress": job.progress,
            "rows_read": job.rows_read,
            "done": job.is_done,
            "error": job.error,
            "counts": job.counts,
        }
    )


@require_GET
@can_import
def order_import_rejected(request, pk: int):
    job = get_object_or_404(OrderImport, pk=pk)
    response = HttpResponse(job.rejected_csv, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="order-import-{job.pk}-rejected.csv"'
    return response
