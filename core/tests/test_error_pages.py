"""Friendly 404 / 403 / 500 pages: what happened and where to go; 500 needs neither a database nor a request."""

from __future__ import annotations

import pytest
from django.template.loader import get_template
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_404_says_what_is_missing_and_where_to_go(viewer_client):
    response = viewer_client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html and "<code>/no-such-page/</code>" in html
    assert 'href="/"' in html and 'href="/runs/"' in html
    assert '<nav aria-label="Main">' in html  # the page keeps the navigation


def test_404_shows_the_path_quoted_never_as_markup(viewer_client):
    html = viewer_client.get("/%3Cscript%3Ealert(1)%3C/script%3E/").content.decode()
    assert "<script>alert(1)" not in html
    assert "/%3Cscript%3Ealert%281%29%3C/script%3E/" in html  # the path as Django quotes it


def test_viewer_has_no_activity_link_and_gets_a_friendly_403_naming_the_role(viewer_client):
    assert 'href="/activity/"' not in viewer_client.get("/").content.decode()
    response = viewer_client.get("/activity/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You may not open this page" in html
    assert "Only Admins can read the activity log." in html  # the view's PermissionDenied message
    assert "with the role <strong>Viewer</strong>" in html


def test_403_without_a_message_says_the_role_lacks_the_permission(outsider_user, client):
    client.force_login(outsider_user)
    response = client.get("/runs/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Your role does not include the permission this page needs." in html
    assert "without a role yet" in html


def test_admin_sees_the_activity_link(admin_client):
    assert 'href="/activity/"' in admin_client.get("/").content.decode()


def test_500_renders_without_database_or_request_context(django_assert_num_queries):
    with django_assert_num_queries(0):
        html = get_template("500.html").render()  # Django's server_error renders with an empty context
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    for text in (html, response.content.decode()):
        assert "Something went wrong on our side" in text and 'href="/"' in text
        assert "{%" not in text and "stylesheet" not in text  # self-contained: no static storage needed
