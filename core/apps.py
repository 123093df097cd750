from django.apps import AppConfig
from django.db.models.signals import post_migrate

from core.roles import sync_roles


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Segmenta core"

    def ready(self) -> None:
        post_migrate.connect(sync_roles, dispatch_uid="core.sync_roles")
