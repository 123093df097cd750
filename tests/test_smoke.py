import pytest


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(anon_client):
    response = anon_client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_login_page_renders(anon_client):
    assert anon_client.get("/accounts/login/").status_code == 200


def test_roles_exist(viewer_user):
    assert viewer_user.groups.filter(name="Viewer").exists()
    assert viewer_user.has_perm("customers.view_customer")
    assert not viewer_user.has_perm("customers.import_customers")
