"""Admin for customers, their attribute schema and import jobs; imports go through the one service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from customers.forms import CustomerImportForm
from customers.models import CanonicalFieldRole, Customer, CustomerAttribute, ImportJob
from customers.selectors.columns import CANONICAL_ROLES


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("external_id", "gender", "age", "annual_income", "spending_score", "updated_at")
    list_filter = ("gender",)
    search_fields = ("external_id",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False  # counting a million rows on every page is slow


@admin.register(CustomerAttribute)
class CustomerAttributeAdmin(admin.ModelAdmin):
    """Imported columns: an Admin corrects the role and unit guessed at import (later imports keep them).
    A change applies to runs requested afterwards; a finished run keeps the roles and units it froze."""

    list_display = ("key", "label", "kind", "unit", "role", "created_at")
    list_editable = ("unit", "role")
    list_filter = ("kind", "role")
    search_fields = ("key", "label")
    readonly_fields = ("key", "kind", "created_at")

    def has_add_permission(self, request):
        return False  # attributes come from imported columns


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
    exclude = ("rejected_csv",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "rejected_csv"] + ["rejected_rows"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("created_by")

    @admin.display(description="Rejected rows")
    def rejected_rows(self, obj):
        if not obj.rejected_csv:
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
