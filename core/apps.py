from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.module_loading import autodiscover_modules

from core.roles import sync_roles


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Segmenta core"

    def ready(self) -> None:
        post_migrate.connect(sync_roles, dispatch_uid="core.sync_roles")
        # Every app's `activity_sentences` module registers its verbs' words (core.activity): discovered, so
        # core never names a higher app.
        autodiscover_modules("activity_sentences")
