"""API error format: every error is JSON {"error": {"code": ..., "message": ...}}."""

from __future__ import annotations

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.exceptions import Conflict, DataError, NotAllowed, SegmentaError


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(v) for v in detail)
    return str(detail)


def exception_handler(exc, context):
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
    response.data = {"error": {"code": code, "message": _flatten(detail), "fields": detail if isinstance(detail, dict) and "detail" not in detail else None}}
    return response
