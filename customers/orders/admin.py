"""Admin for orders: products, orders, lines and order imports, read-only (imports go through the upload page)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from customers.orders.models import Order, OrderImport, OrderLine, Product


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = ("code", "description", "last_price")
    search_fields = ("code", "description")


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    fields = (
        "line_number",
        "product",
        "description",
        "quantity",
        "unit_price",
        "amount",
        "is_return",
        "is_non_product",
    )
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("order_id", "customer", "ordered_at", "country", "amount", "line_count", "is_cancellation")
    list_filter = ("is_cancellation", "country")
    search_fields = ("order_id", "customer__external_id")
    date_hierarchy = "ordered_at"
    list_select_related = ("customer",)
    raw_id_fields = ("customer",)
    inlines = [OrderLineInline]


@admin.register(OrderLine)
class OrderLineAdmin(ReadOnlyAdmin):
    list_display = (
        "order",
        "line_number",
        "product",
        "description",
        "quantity",
        "unit_price",
        "amount",
        "is_return",
        "is_non_product",
    )
    list_filter = ("is_return", "is_non_product")
    search_fields = ("order__order_id", "product__code")
    list_select_related = ("order", "product")
    show_full_result_count = False


@admin.register(OrderImport)
class OrderImportAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "file_name", "source", "status", "rows_read", "created_by", "page")
    list_filter = ("status", "source")
    exclude = ("rejected_csv",)

    @admin.display(description="Page")
    def page(self, obj: OrderImport) -> str:
        return format_html('<a href="{}">summary</a>', reverse("customers:order-import-detail", args=[obj.pk]))

    def has_add_permission(self, request) -> bool:
        return request.user.has_perm("customers.import_customers")

    def add_view(self, request, form_url="", extra_context=None):
        """ "Add order import" is the upload page (the same form, the same background task)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect("customers:order-import")
