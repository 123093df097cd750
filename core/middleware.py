from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as _DjangoLoginRequired
from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
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


# ------------------------------------------------------------------------------------------- upload limits


class UploadLimitMiddleware:
    """Request bodies over the limit are refused before a byte of them is read (issue 14).

    * `Content-Length` above `SEGMENTA_MAX_REQUEST_BYTES` (the largest upload and its form): 413.
    * Callers who are not logged in (no session user and no `Authorization` header) may send at most
      `SEGMENTA_MAX_ANONYMOUS_BODY_BYTES` (a login form), else 413, and no file at all: the files of
      their multipart forms are skipped unread (`NoFileHandler`). A 1 GB POST to the login page is
      answered at once and never spooled to disk.
    * A body without a valid length is refused (400) unless it is empty.
    * Every other request gets `UploadLimitHandler` first among its upload handlers: a file that
      turns out larger than `SEGMENTA_MAX_UPLOAD_BYTES` stops the upload as it streams in (nothing
      kept on disk) and the view says so (`request.upload_too_large`).

    It sits right after the authentication middleware: it needs `request.user` and must run before
    anything reads `request.POST` (the CSRF check does, in its `process_view`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            length = -1
        if length < 0:
            return _body_refused(request, 400, "The request's Content-Length is not a number of bytes.")
        limit = settings.SEGMENTA_MAX_REQUEST_BYTES
        if length > limit:
            return _body_refused(
                request,
                413,
                f"The request is {length:,} bytes; the largest accepted is {limit:,} bytes "
                f"(files up to {settings.SEGMENTA_MAX_UPLOAD_BYTES:,} bytes).",
            )
        anonymous = not request.META.get("HTTP_AUTHORIZATION") and not request.user.is_authenticated
        if anonymous:
            if length > settings.SEGMENTA_MAX_ANONYMOUS_BODY_BYTES:
                return _body_refused(
                    request,
                    413,
                    f"The request is {length:,} bytes; before logging in at most "
                    f"{settings.SEGMENTA_MAX_ANONYMOUS_BODY_BYTES:,} bytes are accepted (log in to upload files).",
                )
            request.upload_handlers.insert(0, NoFileHandler(request))
        else:
            request.upload_handlers.insert(0, UploadLimitHandler(request, settings.SEGMENTA_MAX_UPLOAD_BYTES))
        return self.get_response(request)


def _body_refused(request, status: int, message: str):
    if request.path.startswith("/api/") or "application/json" in request.META.get("HTTP_ACCEPT", ""):
        response = JsonResponse({"detail": message}, status=status)
    else:
        title = "Request too large" if status == 413 else "Bad request"
        response = HttpResponse(
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Segmenta</title></head>'
            f"<body><h1>{title}</h1><p>{escape(message)}</p></body></html>",
            status=status,
            content_type="text/html; charset=utf-8",
        )
    return response


class NoFileHandler(FileUploadHandler):
    """First upload handler before logging in: every file is skipped, its bytes never kept."""

    def new_file(self, *args, **kwargs):
        raise SkipFile("log in to upload files")

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return None


class UploadLimitHandler(FileUploadHandler):
    """First upload handler: passes chunks on, and stops the upload (nothing kept) once the files
    received exceed `limit` bytes; sets `request.upload_too_large` for the view to say so."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = self.limit
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
