"""API plumbing shared by every app: the error format, permissions and pagination.

Throttles are DRF's own: UserRateThrottle for every call, ScopedRateThrottle with scope "export" for exports
(rates in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]).

Every error is JSON {"error": {"code": ..., "message": ..., "fields": ...}} whatever format was asked for.
"""

from __future__ import annotations

from rest_framework import permissions, status
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import Conflict, DataError, NotAllowed, SegmentaError


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v) for v in detail)
    return str(detail)


def _errors_as_json(context) -> None:
    """An error answers JSON even when a CSV (or other non-JSON) rendering was negotiated."""
    request = context.get("request") if context else None
    renderer = getattr(request, "accepted_renderer", None)
    if request is not None and renderer is not None and getattr(renderer, "format", "json") not in ("json", "api"):
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"


def exception_handler(exc, context):
    _errors_as_json(context)
    if isinstance(exc, SegmentaError):
        code = {NotAllowed: status.HTTP_403_FORBIDDEN, Conflict: status.HTTP_409_CONFLICT}.get(
            type(exc), status.HTTP_400_BAD_REQUEST
        )
        if isinstance(exc, DataError):
            code = status.HTTP_400_BAD_REQUEST
        return Response({"error": {"code": type(exc).__name__.lower(), "message": str(exc)}}, status=code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    codes = getattr(exc, "get_codes", lambda: None)()
    code = codes if isinstance(codes, str) else "invalid"
    response.data = {
        "error": {
            "code": code,
            "message": _flatten(detail),
            "fields": detail if isinstance(detail, dict) and "detail" not in detail else None,
        }
    }
    return response


class ModelPermissionsWithView(permissions.DjangoModelPermissions):
    """Model permissions that also guard reads: GET needs the model's view permission."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class HasPermission(permissions.BasePermission):
    """Requires one named permission for every method (model permissions do not guard GET)."""

    permission: str = ""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perm(self.permission))


class CanExportAudience(HasPermission):
    permission = "campaigns.export_audience"
    message = "You need the campaigns.export_audience permission (Marketer or Admin) to export an audience."


class CursorPage(CursorPagination):
    """Cursor pagination: stable pages under inserts, no COUNT over large tables."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-id"
