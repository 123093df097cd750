"""Admin for customers, their attribute schema and import jobs; imports and deletions go through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from core.exceptions import DataError
from customers.deletion import (
    RESEGMENT_ADVICE,
    CustomerDeletion,
    customers_delete,
    customers_deletion_preview,
    demo_customers_queryset,
    demo_customers_remove,
)
from customers.forms import CustomerImportForm
from customers.models import CanonicalFieldRole, Customer, CustomerAttribute, ImportJob
from customers.orders.behaviour import behaviour_compute
from customers.selectors.columns import CANONICAL_ROLES


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "gender", "age", "annual_income", "spending_score", "updated_at")
    list_filter = ("gender",)
    search_fields = ("external_id",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False  # counting a million rows on every page is slow
    change_list_template = "customers/customer_admin_changelist.html"
    actions = ["delete_selected"]  # this class's set-based one, in place of Django's

    @admin.action(permissions=["delete"], description="Delete selected customers")
    def delete_selected(self, request, queryset):
        """Django's "delete selected", set-based: one DELETE per table, whatever the selection.

        The confirmation page posts back the action, the select-across flag and the count it showed
        (the URL keeps the changelist's filters and search), never the ids of a selection across pages
        (Django's page posts every id: 400 TooManyFieldsSent past 1,000). When the selection no longer
        holds the confirmed number of customers, the page is shown again with the new count.
        """
        across = request.POST.get("select_across") == "1"
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        warning = ""
        if request.POST.get("post") == "yes":
            count = queryset.order_by().count()
            if request.POST.get("expected") == str(count):
                filters = request.GET.urlencode()
                scope = f"all customers matching '{filters or 'no filter'}'" if across else f"{count} selected"
                result = customers_delete(
                    customers=queryset, actor=request.user, description=f"admin, delete selected: {scope}"
                )
                self.message_user(request, f"Deleted {result.describe()}. {RESEGMENT_ADVICE}", messages.SUCCESS)
                return None
            warning = (
                f"The selection changed since it was shown: it now holds {count:,} customers "
                f"(shown: {request.POST.get('expected') or '?'}). Check the numbers below and confirm again."
            )
        # Across pages the ids are not needed (any one id keeps the changelist's "something is selected" check).
        ids = selected[:1] if across else selected
        hidden = [("action", "delete_selected"), ("select_across", "1" if across else "0")]
        hidden += [(helpers.ACTION_CHECKBOX_NAME, pk) for pk in ids]
        preview = customers_deletion_preview(customers=queryset)
        scope = (
            "Every customer matching the list's current filters and search, on all pages, is selected."
            if across
            else f"{len(selected)} customers selected on this page."
        )
        return self._confirmation(
            request,
            title="Delete customers",
            preview=preview,
            scope=scope,
            hidden=hidden,
            post_url=request.get_full_path(),
            submit_label=f"Yes, delete {preview.customers:,} customers",
            warning=warning,
            cancel_url=request.get_full_path(),
        )

    def get_urls(self):
        custom = [
            path(
                "remove-demo/",
                self.admin_site.admin_view(self.remove_demo_view),
                name="customers_customer_remove_demo",
            )
        ]
        return custom + super().get_urls()

    def remove_demo_view(self, request):
        """Remove the synthetic demo customers (source = synthetic demo) and their memberships, after a confirmation."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            result = demo_customers_remove(actor=request.user)
            if result.customers:
                message = f"Removed the synthetic demo customers: {result.describe()}. {RESEGMENT_ADVICE}"
            else:
                message = "There were no synthetic demo customers to remove."
            self.message_user(request, message, messages.SUCCESS)
            return redirect(reverse("admin:customers_customer_changelist"))
        return self._confirmation(
            request,
            title="Remove the demo customers",
            preview=customers_deletion_preview(customers=demo_customers_queryset()),
            scope="The synthetic demo customers (attribute source = 'synthetic demo', made by seed_demo) are selected; "
            "imported customers are kept.",
            hidden=[],
            post_url=reverse("admin:customers_customer_remove_demo"),
            submit_label="Yes, remove the demo customers",
            empty_message="There are no synthetic demo customers.",
        )

    def _confirmation(self, request, *, title: str, preview: CustomerDeletion, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "media": self.media,
            "title": title,
            "preview": preview,
            "advice": RESEGMENT_ADVICE,
            "cancel_url": reverse("admin:customers_customer_changelist"),
            "empty_message": "No customer is selected any more.",
            **context,
        }
        return TemplateResponse(request, "customers/admin_delete_confirm.html", context)


@admin.register(CustomerAttribute)
class CustomerAttributeAdmin(admin.ModelAdmin):
    """Imported columns: an Admin corrects the role and unit guessed at import (later imports keep them).
    A change applies to runs requested afterwards; a finished run keeps the roles and units it froze."""

    list_display = ("key", "label", "kind", "unit", "role", "derived", "computed_as_of", "created_at")
    list_editable = ("unit", "role")
    list_filter = ("kind", "role", "derived")
    search_fields = ("key", "label")
    readonly_fields = ("key", "kind", "created_at", "derived", "computed_at", "computed_as_of")
    actions = ["behaviour_recompute"]

    def has_add_permission(self, request):
        return False  # attributes come from imported columns

    @admin.action(permissions=["change"], description="Recompute behaviour from the orders (derived columns)")
    def behaviour_recompute(self, request, queryset):
        """Every customer's behaviour as of the last purchase day, whatever rows are selected."""
        try:
            result = behaviour_compute(actor=request.user)
        except DataError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return
        if result.as_of is None:
            self.message_user(request, result.reason, messages.WARNING)
            return
        self.message_user(
            request,
            f"Behaviour computed as of {result.as_of} for {result.customers:,} customers "
            f"({result.cleared:,} without a purchase cleared).",
            messages.SUCCESS,
        )


@admin.register(CanonicalFieldRole)
class CanonicalFieldRoleAdmin(admin.ModelAdmin):
    """Roles of the canonical fields (age, gender, annual_income, spending_score): a row overrides the
    default; deleting it restores the default."""

    list_display = ("field", "role", "default_role", "updated_at")
    list_editable = ("role",)

    @admin.display(description="Default role")
    def default_role(self, obj: CanonicalFieldRole) -> str:
        return CANONICAL_ROLES.get(obj.field, "other")


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "created_by",
        "source",
        "file_name",
        "status",
        "rows_total",
        "rows_added",
        "rows_updated",
        "rows_rejected",
        "duration_ms",
    )
    list_filter = ("status", "source")
    search_fields = ("file_name", "error")
    change_list_template = "customers/import_admin_changelist.html"
    exclude = ("rejected_csv", "rejected_path", "stored_path")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name not in self.exclude] + ["rejected_rows"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="Rejected rows")
    def rejected_rows(self, obj):
        if not obj.rejected_path and not obj.rejected_csv:
            return "—"
        url = reverse("customers:import-rejected", args=[obj.pk])
        return format_html('<a href="{}">Download CSV ({} rows, with the reason for each)</a>', url, obj.rows_rejected)

    def has_add_permission(self, request):
        return False  # imports are made by the import form, never by hand

    def get_urls(self):
        custom = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="customers_importjob_import",
            )
        ]
        return custom + super().get_urls()

    def import_view(self, request):
        """The admin's door to `customer_import` (same form and service as the upload page)."""
        if not request.user.has_perm("customers.import_customers"):
            raise PermissionDenied
        form = CustomerImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            result = form.run_import(user=request.user, source="admin")
            if result is not None:
                prefix = "Dry run of " if result.dry_run else "Imported "
                self.message_user(
                    request,
                    f"{prefix}{result.job.file_name}: {result.added} added, {result.updated} updated, "
                    f"{result.rejected} rejected.",
                    messages.SUCCESS,
                )
                for note in result.job.notes:
                    self.message_user(request, note, messages.INFO)
                return redirect(reverse("admin:customers_importjob_change", args=[result.job.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import customers",
            "form": form,
        }
        return TemplateResponse(request, "customers/import_admin.html", context, status=400 if form.errors else 200)


from customers.orders import admin as order_admin  # noqa: E402, F401 - registers the order admin
