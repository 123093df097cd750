"""The Celery application. Configuration comes from Django settings (CELERY_* names)."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("segmenta")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

FILESYSTEM_BROKER_FOLDERS = ("data_folder_in", "data_folder_out", "processed_folder", "control_folder")


def broker_folders_create(celery_app: Celery) -> None:
    """Create the folders of the embedded (filesystem) broker; settings only name them."""
    if not str(celery_app.conf.broker_url or "").startswith("filesystem://"):
        return
    options = celery_app.conf.broker_transport_options or {}
    for key in FILESYSTEM_BROKER_FOLDERS:
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


@app.on_after_configure.connect
def _broker_folders_on_configure(sender: Celery, **kwargs: object) -> None:
    broker_folders_create(sender)
