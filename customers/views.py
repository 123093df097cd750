"""Customer pages: the list, one customer, the data overview, and the import pages (upload for
Marketers and Admins, the list of imports and one import's outcome). Reads go through selectors."""

from __future__ import annotations

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.functional import cached_property
from django.views.decorators.http import require_GET, require_http_methods

from core.services import activity_record
from customers import charts
from customers import export as customer_export_csv
from customers import filters as list_filters
from customers.forms import CustomerImportForm
from customers.models import Customer, Gender, ImportJob
from customers.orders import value_selectors
from customers.selectors import columns as column_selectors
from customers.selectors import customers as selectors
from customers.selectors import overview as overview_selectors

PAGE_SIZE = 50
IMPORTS_PER_PAGE = 50
#: A filtered list counts its matches up to this many; beyond, it says "more than" and asks to narrow.
COUNT_CAP = 10_000
can_view = permission_required("customers.view_customer", raise_exception=True)


class EstimatedPaginator(Paginator):
    """A Paginator whose count comes from a cheap function (the planner's estimate on a huge table)."""

    def __init__(self, *args, count_function, **kwargs):
        super().__init__(*args, **kwargs)
        self._count_function = count_function

    @cached_property
    def count(self) -> int:
        return self._count_function()


@require_GET
@can_view
def customer_list(request):
    query = selectors.customer_query_parse(params=request.GET)
    qs = selectors.customer_list(query=query)
    estimated = not query.is_filtered
    capped = False
    raw_page = request.GET.get("page")
    head = None
    if estimated:
        paginator = EstimatedPaginator(qs, PAGE_SIZE, count_function=selectors.customer_count_estimate)
    else:
        # A filter that matches one page needs no count at all; otherwise count at most COUNT_CAP rows.
        if raw_page in (None, "", "1"):
            head = list(qs[: PAGE_SIZE + 1])
        if head is not None and len(head) <= PAGE_SIZE:
            paginator = EstimatedPaginator(qs, PAGE_SIZE, count_function=lambda: len(head))
        else:
            paginator = EstimatedPaginator(qs, PAGE_SIZE, count_function=lambda: qs.order_by()[:COUNT_CAP].count())
            capped = paginator.count >= COUNT_CAP
    page = paginator.get_page(raw_page)
    if head is not None and page.number == 1:
        page.object_list = head[:PAGE_SIZE]
    notes = list(query.notes)
    if raw_page and raw_page != str(page.number):
        notes.append(f"page: {raw_page!r} does not exist; showing page {page.number}")
    customers = list(page.object_list)  # their segments come from the template's customer_segments tags
    all_columns = column_selectors.column_list()
    shown = [c for c in all_columns if c.key in query.cols]
    for customer in customers:
        values = customer.attributes or {}
        customer.shown_values = [(c, values.get(c.key)) for c in shown]

    columns = []
    for key, label in (
        ("id", "Customer ID"),
        ("gender", "Gender"),
        ("age", "Age"),
        ("income", "Annual income (k$)"),
        ("score", "Spending score"),
        ("updated", "Updated"),
    ):
        current = query.sort.lstrip("-") == key
        descending = query.sort.startswith("-")
        next_sort = f"-{key}" if current and not descending else key
        columns.append(
            {
                "key": key,
                "label": label,
                "num": key in ("age", "income", "score"),
                "params": query.as_params(sort=next_sort if next_sort != selectors.DEFAULT_SORT else ""),
                "current": current,
                "arrow": ("▼" if descending else "▲") if current else "",
                "aria_sort": ("descending" if descending else "ascending") if current else "none",
            }
        )
    context = {
        "query": query,
        "notes": notes,
        "page": page,
        "customers": customers,
        "columns": columns,
        "genders": Gender.choices,
        "estimated": estimated and paginator.count >= selectors.ESTIMATE_ABOVE,
        "capped": capped,
        "base_params": query.as_params(),
        "any_customers": bool(customers) or query.is_filtered or Customer.objects.exists(),
        "shown_columns": shown,
        "extra_filters": [
            {"name": f.name, "label": f.label, "choices": f.choices(), "value": query.value_of(f.name)}
            for f in list_filters.list_filters()
        ],
        "range_columns": [
            {"column": c, "min": lo, "max": hi}
            for c in all_columns
            if c.kind == "number"
            for lo, hi in [query.range_of(c.key)]
        ],
        "text_columns": [{"column": c, "value": query.equal_of(c.key)} for c in all_columns if c.kind == "text"],
        "attribute_columns": [c for c in all_columns if c.attribute],
        "column_filters_used": bool(query.ranges or query.equals),
    }
    return render(request, "customers/list.html", context)


@require_GET
@permission_required("customers.export_customers", raise_exception=True)
def customer_export(request):
    """The list's filtered customers as a CSV for a spreadsheet (streamed), audited with its filter and size."""
    query = selectors.customer_query_parse(params=request.GET)
    queryset = selectors.customer_list(query=query)
    rows = queryset.count()
    params = query.as_params()
    params.pop("cols", None)
    activity_record(
        actor=request.user,
        verb="customers.exported",
        object_type=Customer._meta.label,
        object_repr=f"{rows} customers",
        detail={"filter": params, "rows": rows, "ignored": list(query.notes)},
    )
    attributes = [c for c in column_selectors.column_list() if c.attribute]
    response = StreamingHttpResponse(
        customer_export_csv.customer_csv_stream(queryset=queryset, attributes=attributes),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response


@require_GET
@can_view
def customer_detail(request, external_id: str):
    customer = get_object_or_404(Customer, external_id=external_id)
    context = {
        "customer": customer,
        "attributes": selectors.customer_attributes(customer=customer),
        "purchases": value_selectors.customer_purchases(customer=customer),
    }
    return render(request, "customers/detail.html", context)


@require_GET
@can_view
def customer_overview(request):
    overview = overview_selectors.customer_overview()
    context: dict = {"overview": overview, "columns": column_selectors.column_list()}
    if overview.rows:
        choice = overview_selectors.overview_choice_parse(params=request.GET, overview=overview)
        # Figures depend only on the data and the choice, so they are cached under the data's fingerprint.
        key = f"{overview.fingerprint}:charts:{choice.column}:{','.join(choice.matrix)}"
        figures = cache.get(key)
        if figures is None:
            figures = _overview_charts(overview, choice)
            cache.set(key, figures, overview_selectors.OVERVIEW_CACHE_SECONDS)
        context.update(figures)
        context["choice"] = choice
        context["notes"] = choice.notes
        context["gender_rows"] = [(label, overview.genders.get(value, 0)) for value, label in Gender.choices]
        context["missing_rows"] = overview.missing
        context["distribution_options"] = [
            ("Numeric columns", [(h.feature.key, h.feature.title) for h in overview.histograms]),
            ("Categories", [("gender", "Gender"), *((t.key, t.title) for t in overview.texts)]),
        ]
        context["matrix_options"] = [(h.feature.key, h.feature.title) for h in overview.histograms]
        context.update(_purchase_charts(overview_selectors.purchase_overview()))
    return render(request, "customers/overview.html", context)


def _purchase_charts(purchases: overview_selectors.PurchaseOverview | None) -> dict:
    """Orders per month, revenue by country, top products (when orders exist; aggregated in SQL)."""
    if purchases is None:
        return {"purchases": None}
    out: dict = {"purchases": purchases}
    if purchases.months:
        months, orders, revenue = zip(*purchases.months, strict=True)
        out["orders_month_chart"] = charts.figure_html(
            charts.orders_month_figure(months=months, orders=orders, revenue=revenue), div_id=charts.ORDERS_MONTH_DIV_ID
        )
    if purchases.countries:
        labels, values = zip(*purchases.countries, strict=True)
        title = f"Net revenue by country (top {len(labels)} of {purchases.countries_total})"
        out["revenue_country_chart"] = charts.figure_html(
            charts.ranked_bar_figure(title=title, labels=labels, values=values, value_title="Net revenue"),
            div_id=charts.REVENUE_COUNTRY_DIV_ID,
        )
    if purchases.products:
        labels, values = zip(*purchases.products, strict=True)
        out["top_products_chart"] = charts.figure_html(
            charts.ranked_bar_figure(
                title=f"Top {len(labels)} products by net revenue",
                labels=labels,
                values=values,
                value_title="Net revenue",
            ),
            div_id=charts.TOP_PRODUCTS_DIV_ID,
        )
    return out


def _overview_charts(overview: overview_selectors.Overview, choice: overview_selectors.OverviewChoice) -> dict:
    in_sample = "Customers in the sample" if overview.sampled else "Customers"
    subtitle = (
        f"sample of {overview.sample_size:,} of {overview.rows:,} customers"
        if overview.sampled
        else f"all {overview.rows:,} customers"
    )
    out = {"distribution_chart": "", "scatter_chart": "", "age_chart": "", "correlation_chart": ""}
    histograms = {h.feature.key: h for h in overview.histograms}
    texts = {t.key: t for t in overview.text_summaries}
    div_id = charts.histogram_div_id(choice.column)
    if choice.column in histograms:
        hist = histograms[choice.column]
        fig = charts.histogram_figure(
            title=f"{hist.feature.label}: distribution",
            axis_title=hist.feature.title,
            edges=hist.edges,
            counts=hist.counts,
            y_title=in_sample,
        )
        out["distribution_chart"] = charts.figure_html(fig, div_id=div_id)
    elif choice.column == "gender":
        out["distribution_chart"] = charts.figure_html(
            charts.gender_figure(counts=overview.genders), div_id=charts.GENDER_DIV_ID
        )
    elif choice.column in texts:
        text = texts[choice.column]
        fig = charts.category_figure(
            title=f"{text.title}: most common values", axis_title=text.title, counts=list(text.top)
        )
        out["distribution_chart"] = charts.figure_html(fig, div_id=div_id)
    if overview.age_groups:
        fig = charts.category_figure(title="Age groups", axis_title="Age (years)", counts=overview.age_groups)
        out["age_chart"] = charts.figure_html(fig, div_id=charts.AGE_GROUPS_DIV_ID)
    corr = overview.correlation
    if corr is not None and len(corr.keys) >= 2:
        fig = charts.correlation_figure(titles=corr.titles, matrix=corr.matrix, subtitle=subtitle)
        out["correlation_chart"] = charts.figure_html(fig, div_id=charts.CORRELATION_DIV_ID)
    if len(choice.matrix) >= 2:
        titles = {h.feature.key: h.feature.title for h in overview.histograms}
        fig = charts.scatter_matrix_figure(
            columns=[(k, titles[k]) for k in choice.matrix],
            values=overview.sample,
            genders=overview.sample["gender"],
            total=overview.rows,
        )
        out["scatter_chart"] = charts.figure_html(fig, div_id=charts.SCATTER_DIV_ID)
    return out


# --------------------------------------------------------------------------- imports


@permission_required("customers.import_customers", raise_exception=True)
@require_http_methods(["GET", "POST"])
def import_upload(request):
    form = CustomerImportForm(request.POST or None, request.FILES or None)
    too_large = getattr(request, "upload_too_large", None)  # stopped as it streamed in (core.middleware)
    if request.method == "POST" and too_large:
        form = CustomerImportForm(request.POST, request.FILES)
        form.is_valid()
        form.errors["file"] = form.error_class(
            [f"the file is larger than the upload limit of {too_large:,} bytes; nothing was kept"]
        )
    elif (
        request.method == "POST"
        and form.is_valid()
        and form.cleaned_data["file"].size > settings.SEGMENTA_IMPORT_INLINE_MAX_BYTES
    ):
        job = form.queue_import(user=request.user, source="upload")
        messages.info(request, f"{job.file_name} is being imported in the background; this page shows the outcome.")
        return redirect("customers:import-detail", pk=job.pk)
    elif request.method == "POST" and form.is_valid():
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
            for note in job.notes:
                messages.info(request, note)
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
    has_rejected = bool(job.rejected_path) or ImportJob.objects.filter(pk=pk).exclude(rejected_csv="").exists()
    return render(request, "customers/import_detail.html", {"job": job, "has_rejected": has_rejected})


@permission_required("customers.import_customers", raise_exception=True)
@require_GET
def import_rejected(request, pk: int):
    """The rejected rows of an import as CSV (written formula-safe by the service), streamed from its file."""
    job = get_object_or_404(ImportJob.objects.defer("rejected_csv"), pk=pk)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", job.file_name.rsplit(".", 1)[0]) or "import"
    filename = f"{stem}-rejected-{job.pk}.csv"
    if job.rejected_path:
        try:
            fh = open(job.rejected_path, "rb")  # noqa: SIM115 - FileResponse closes it
        except FileNotFoundError:
            return HttpResponse("The file of rejected rows is no longer kept.", status=404, content_type="text/plain")
        return FileResponse(fh, as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8")
    legacy = ImportJob.objects.filter(pk=pk).values_list("rejected_csv", flat=True).first()  # imports before files
    if not legacy:
        return HttpResponse("This import rejected no rows.", status=404, content_type="text/plain")
    response = HttpResponse(legacy, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
