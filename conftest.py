from pathlib import Path

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures", "tests.worker"]


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Folders the suite writes to: settings only name them (they create nothing on import)."""
    test_name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_name:
        Path(test_name).parent.mkdir(parents=True, exist_ok=True)
    # WhiteNoise warns whenever the middleware is built without STATIC_ROOT (`collectstatic` makes it in production).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
