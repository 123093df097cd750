import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.tests.factories import customers_import_file
from segmentation.tests.factories import SegmentationFactory, SegmentRunFactory


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def mall_customers(db, mall_csv):
    return customers_import_file(mall_csv)


@pytest.fixture
def segmentation(db):
    return SegmentationFactory(name="Mall")


@pytest.fixture
def mall_run(segmentation, mall_customers):
    return SegmentRunFactory(segmentation=segmentation, k=5)


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_as():
    """api_as(user, "token"|"session") -> an APIClient authenticated that way; api_as(None) is anonymous."""

    def make(user, how: str = "token") -> APIClient:
        if user is None:
            return APIClient()
        if how == "token":
            return token_client(user)
        client = APIClient()
        client.force_login(user)
        return client

    return make
