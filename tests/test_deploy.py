"""Issue 14, finding 10: a production server and settings fit for a real deployment."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, reverse

REPO = Path(__file__).resolve().parent.parent
KEY = secrets.token_urlsafe(64)


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: the browser tests set it in this process (Playwright drives an event loop).
        if k
        not in (
            "DJANGO_SETTINGS_MODULE",
            "DATABASE_URL",
            "CELERY_BROKER_URL",
            "SECRET_KEY",
            "EMAIL_HOST",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        )
    }
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", SECRET_KEY=KEY)
    env.update(extra)
    return env


def _python(code: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings as s; {code}"],
        cwd=REPO,
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_proxy_header_is_trusted_only_when_configured():
    untrusted = _python("print(s.SECURE_PROXY_SSL_HEADER)")
    assert untrusted.returncode == 0, untrusted.stderr and untrusted.stdout.strip() == "None"
    trusted = _python("print(s.SECURE_PROXY_SSL_HEADER)", SEGMENTA_BEHIND_PROXY="1")
    assert trusted.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize("module", ["config.settings.production", "config.settings.local"])
def test_testserver_is_not_a_default_host(module):
    proc = _python("print(s.ALLOWED_HOSTS)", DJANGO_SETTINGS_MODULE=module)
    assert proc.returncode == 0, proc.stderr
    assert "testserver" not in proc.stdout and "localhost" in proc.stdout


def test_check_deploy_is_clean():
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.django_db
def test_healthz_is_exempt_from_the_https_redirect():
    with override_settings(SECURE_SSL_REDIRECT=True):
        client = Client()
        assert client.get("/healthz").status_code == 200
        assert client.get("/accounts/login/").status_code == 301


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_script(admin_client):
    response = admin_client.get("/customers/")
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy


def test_templates_have_no_inline_script_or_handler():
    """Every <script> loads a file (or is JSON data); no on…= attribute anywhere."""
    import re

    offenders = []
    for path in [*REPO.glob("templates/**/*.html"), *REPO.glob("*/templates/**/*.html")]:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in tag and 'type="application/json"' not in tag:
                offenders.append((path.name, tag))
        offenders += [(path.name, m) for m in re.findall(r"\son[a-z]+=\"", text)]
    assert offenders == []


@pytest.mark.django_db
def test_password_reset_only_when_email_is_configured(client):
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    assert client.get("/accounts/password_reset/").status_code == 404
    assert "Forgot your password" not in client.get("/accounts/login/").content.decode()
    configured = _python(
        "from django.urls import reverse; print(reverse('password_reset'))", EMAIL_HOST="smtp.example.com"
    )
    assert configured.returncode == 0, configured.stderr
    assert configured.stdout.strip() == "/accounts/password_reset/"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_gunicorn_serves_the_app_with_production_settings(tmp_path):
    """The documented command: gunicorn -c config/gunicorn.conf.py, plain HTTP health check answered, not redirected."""
    port = _free_port()
    env = _env(WEB_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", SEGMENTA_VAR_DIR=str(tmp_path))
    env.pop("DJANGO_SETTINGS_MODULE")  # the config names production settings itself
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "config/gunicorn.conf.py"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as r:  # noqa: S310
                    assert r.status == 200 and r.read() == b"ok"
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
        request = urllib.request.Request(f"http://127.0.0.1:{port}/accounts/login/")
        with pytest.raises(urllib.error.HTTPError) as redirect:
            urllib.request.build_opener(_NoRedirect).open(request, timeout=30)
        assert redirect.value.code == 301 and redirect.value.headers["Location"].startswith("https://")
        huge = urllib.request.Request(f"http://127.0.0.1:{port}/healthz?{'x' * 9000}")
        with pytest.raises(urllib.error.HTTPError) as too_long:
            urllib.request.urlopen(huge, timeout=30)  # noqa: S310
        assert too_long.value.code == 400  # limit_request_line
    finally:
        server.terminate()
        server.wait(timeout=30)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
