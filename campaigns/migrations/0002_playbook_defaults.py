from django.db import migrations

from campaigns.playbook import DEFAULT_RULES


def create_defaults(apps, schema_editor):
    PlaybookRule = apps.get_model("campaigns", "PlaybookRule")
    for rule in DEFAULT_RULES:
        PlaybookRule.objects.get_or_create(name=rule["name"], defaults={**rule, "builtin": True})


def remove_defaults(apps, schema_editor):
    PlaybookRule = apps.get_model("campaigns", "PlaybookRule")
    PlaybookRule.objects.filter(builtin=True, name__in=[r["name"] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]

    operations = [migrations.RunPython(create_defaults, remove_defaults)]
