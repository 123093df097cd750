from django.contrib.auth.middleware import LoginRequiredMiddleware as _DjangoLoginRequired
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.html import escape


class LoginRequiredMiddleware(_DjangoLoginRequired):
    """Every page needs a login. The API answers 401/403 itself (DRF), so it is not redirected."""

    open_prefixes = ("/api/", "/static/", "/healthz")

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(self.open_prefixes):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RejectNulBytesMiddleware:
    """A NUL character in a query parameter or form field is a bad request (400), never a server error.

    PostgreSQL cannot store or compare NUL in text, so such a value used to fail deep inside a filter or a
    save with a 500. One rule here covers every page and API: the API answers in its JSON error shape.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        found = self._first_nul(request)
        if found is None:
            return self.get_response(request)
        where, name = found
        message = f"The {where} “{name[:40]}” contains a NUL character (\\0), which is not allowed."
        if request.path.startswith("/api/"):
            return JsonResponse({"error": {"code": "invalid", "message": message, "fields": None}}, status=400)
        return HttpResponseBadRequest(
            f"<!doctype html><title>Bad request</title><h1>Bad request</h1><p>{escape(message)}</p>",
            content_type="text/html; charset=utf-8",
        )

    @staticmethod
    def _first_nul(request) -> tuple[str, str] | None:
        if "\x00" in request.path:
            return "address", request.path
        for key, values in request.GET.lists():
            if "\x00" in key or any("\x00" in v for v in values):
                return "query parameter", key.replace("\x00", "\\0")
        # Form bodies are bounded by DATA_UPLOAD_MAX_MEMORY_SIZE; a multipart body (an upload) is read here
        # only for a logged-in user, never spooled for an anonymous caller.
        form = request.content_type == "application/x-www-form-urlencoded" or (
            request.content_type == "multipart/form-data" and request.user.is_authenticated
        )
        if request.method == "POST" and form:
            for key, values in request.POST.lists():
                if "\x00" in key or any("\x00" in v for v in values):
                    return "form field", key.replace("\x00", "\\0")
        return None
