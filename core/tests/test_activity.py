"""The Admin-only activity log page."""

from __future__ import annotations

import pytest

from core.services import activity_record

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize(
    ("persona", "expected"), [("admin", 200), ("marketer", 403), ("viewer", 403), ("outsider", 403)]
)
def test_only_admins(persona, expected, client, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    assert client.get("/activity/").status_code == expected


def test_anonymous_goes_to_login(anon_client):
    response = anon_client.get("/activity/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_filter_and_paginate(admin_client, admin_user):
    for i in range(60):
        activity_record(actor=admin_user, verb="campaign.update", object_type="campaigns.Campaign", object_id=str(i))
    activity_record(
        actor=admin_user, verb="segment.strategy", object_type="segmentation.Segment", object_id="7",
        before={"strategy": "old text"}, after={"strategy": "new text"},
    )  # fmt: skip
    page1 = admin_client.get("/activity/").content.decode()
    assert page1.count('class="activity-row"') == 50
    assert "Page 1 of 2" in page1
    only = admin_client.get("/activity/?verb=segment.strategy").content.decode()
    assert only.count('class="activity-row"') == 1
    assert "old text" in only and "new text" in only
    by_type = admin_client.get("/activity/?object_type=campaigns.Campaign&page=2").content.decode()
    assert by_type.count('class="activity-row"') == 10
