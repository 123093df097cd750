import pytest


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    """Files an import keeps (rejected rows) go to the test's own folder."""
    settings.VAR_DIR = tmp_path / "var"
