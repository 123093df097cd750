pytest_plugins = ["tests.fixtures", "tests.worker"]
