"""Request bodies over the limit are refused before they are read (issue 14, finding 4), through the
whole middleware stack (the Django test client) and a real HTTP server (pytest-django's live server)."""

from __future__ import annotations

import io
import socket
import time
from urllib.parse import urlencode, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponse
from django.urls import reverse

from customers.models import Customer, ImportJob

pytestmark = pytest.mark.django_db

GB = 1024**3
GOOD = b"CustomerID,Age\n1,30\n2,40\n"


class Body(io.RawIOBase):
    """A request body that says how much of it was read (a WSGI input that never ends)."""

    def __init__(self):
        self.read_bytes = 0

    def readable(self):
        return True

    def read(self, size=-1):
        size = 65536 if size is None or size < 0 else size
        self.read_bytes += size
        return b"x" * size

    def readline(self, size=-1):
        return self.read(size)


@pytest.fixture
def temp_dir(settings, tmp_path):
    """Uploads spool here from the first KB: any byte of a refused body written to disk shows."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    return tmp_path


def _post(client, path, *, length, content_type, body=None, **extra):
    body = body or Body()
    response = client.generic(
        "POST",
        path,
        data=b"-",
        content_type=content_type,
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": body},
        **extra,
    )
    return response, body


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=xyz", "application/x-www-form-urlencoded"])
def test_anonymous_gigabyte_to_the_login_page_is_refused_unread(anon_client, temp_dir, content_type):
    started = time.monotonic()
    response, body = _post(anon_client, "/accounts/login/", length=GB, content_type=content_type)
    assert response.status_code == 413
    assert body.read_bytes == 0
    assert list(temp_dir.iterdir()) == []
    assert time.monotonic() - started < 2


def test_anonymous_may_send_no_file_at_all(temp_dir):
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    from core.middleware import UploadLimitMiddleware

    request = RequestFactory().post(
        "/accounts/login/", {"username": "u", "file": SimpleUploadedFile("a.csv", b"x" * 20_000)}
    )
    request.user = AnonymousUser()
    seen = {}

    def view(request):
        seen.update(files=dict(request.FILES), post=request.POST.dict())
        return HttpResponse("ok")

    assert UploadLimitMiddleware(view)(request).status_code == 200
    assert seen == {"files": {}, "post": {"username": "u"}}  # the file skipped unread
    assert list(temp_dir.iterdir()) == []


def test_anonymous_forms_still_reach_the_login_redirect(anon_client):
    response = anon_client.post("/customers/import/", {"file": SimpleUploadedFile("c.csv", GOOD)})
    assert response.status_code == 302 and Customer.objects.count() == 0


def test_anonymous_small_bodies_over_the_anonymous_limit_are_refused(anon_client, settings):
    settings.SEGMENTA_MAX_ANONYMOUS_BODY_BYTES = 2048
    response = anon_client.post(
        "/accounts/login/",
        urlencode({"username": "x" * 5000, "password": "p"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "before logging in at most 2,048 bytes" in response.content.decode()


def test_login_still_works(anon_client, marketer_user):
    response = anon_client.post(
        "/accounts/login/",
        urlencode({"username": marketer_user.username, "password": "pw"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code in (200, 302)  # a wrong or right password: the form was read


def test_logged_in_body_over_the_request_limit_is_refused_unread(marketer_client, settings, temp_dir):
    settings.SEGMENTA_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    settings.SEGMENTA_MAX_REQUEST_BYTES = 11 * 1024 * 1024
    response, body = _post(
        marketer_client, reverse("customers:import"), length=GB, content_type="multipart/form-data; boundary=xyz"
    )
    assert response.status_code == 413 and body.read_bytes == 0
    assert "the largest accepted is 11,534,336 bytes" in response.content.decode()
    assert list(temp_dir.iterdir()) == [] and ImportJob.objects.count() == 0


def test_api_callers_get_json(marketer_client, settings):
    settings.SEGMENTA_MAX_REQUEST_BYTES = 1024 * 1024
    response, _ = _post(
        marketer_client,
        "/api/segments/",
        length=GB,
        content_type="application/json",
        HTTP_AUTHORIZATION="Token abc",
    )
    assert response.status_code == 413
    assert response.json()["detail"].startswith("The request is 1,073,741,824 bytes")


def test_a_bad_content_length_is_refused(anon_client):
    response, body = _post(anon_client, "/accounts/login/", length="lots", content_type="text/plain")
    assert response.status_code == 400 and body.read_bytes == 0


def test_a_file_over_the_upload_limit_stops_as_it_streams_in(marketer_client, settings, temp_dir):
    # Under the request limit (the form's margin), over the file limit: the upload handler stops it.
    settings.SEGMENTA_MAX_UPLOAD_BYTES = 100 * 1024
    big = b"CustomerID,Age\n" + b"".join(b"%d,30\n" % i for i in range(60_000))
    response = marketer_client.post(reverse("customers:import"), {"file": SimpleUploadedFile("big.csv", big)})
    assert response.status_code == 400
    assert "the file is larger than the upload limit of 102,400 bytes; nothing was kept" in response.content.decode()
    assert list(temp_dir.iterdir()) == []
    assert Customer.objects.count() == 0


def test_a_file_under_the_limits_is_imported(marketer_client, temp_dir):
    response = marketer_client.post(reverse("customers:import"), {"file": SimpleUploadedFile("c.csv", GOOD)})
    assert response.status_code == 302 and Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_real_server_answers_a_gigabyte_post_at_once(live_server, settings, tmp_path):
    """A real socket: headers announcing 1 GB, then the first MB; the server answers 413 without reading on."""
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    address = urlsplit(live_server.url)
    started = time.monotonic()
    with socket.create_connection((address.hostname, address.port), timeout=10) as conn:
        conn.sendall(
            b"POST /accounts/login/ HTTP/1.1\r\nHost: localhost\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: %d\r\n\r\n" % GB
        )
        try:
            for _ in range(16):
                conn.sendall(b"x" * 65536)
        except OSError:
            pass  # the server may close before the client is done sending
        answer = b""
        while b"</html>" not in answer and (chunk := conn.recv(65536)):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5
    assert list(tmp_path.iterdir()) == []
