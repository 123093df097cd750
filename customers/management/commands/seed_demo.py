"""`python manage.py seed_demo`: the synthetic demo customers and the demo login."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.roles import ADMIN
from core.services import activity_record
from customers.deletion import RESEGMENT_ADVICE, demo_customers_remove
from customers.demo import ID_PREFIX, PLANTED_GROUPS, SOURCE_ATTRIBUTE, SOURCE_VALUE, demo_customers
from customers.imports.columns import CANONICAL_FIELDS
from customers.models import AttributeKind, Customer, CustomerAttribute
from customers.signals import customers_changed

DEMO_USERNAME = "demo"
BATCH = 5000
UPDATE_FIELDS = [*CANONICAL_FIELDS[1:], "attributes", "updated_at"]


def demo_customers_seed(*, n: int, seed: int, reset: bool) -> dict[str, int]:
    """Upsert `n` synthetic customers by external id, set-based; with `reset` first delete earlier demo rows.

    Returns {"deleted", "added", "updated"}. Sends `customers_changed` after commit. The reset is the
    set-based removal of `seed_demo --remove` (memberships included, audited on its own).
    """
    frame = demo_customers(n=n, seed=seed)
    ids = frame["external_id"].tolist()
    with transaction.atomic():
        deleted = demo_customers_remove(actor=None).customers if reset else 0
        CustomerAttribute.objects.update_or_create(
            key=SOURCE_ATTRIBUTE, defaults={"label": "Source", "kind": AttributeKind.TEXT}
        )
        existing = 0
        for start in range(0, len(ids), BATCH):
            existing += Customer.objects.filter(external_id__in=ids[start : start + BATCH]).count()
        records = frame.drop(columns=["group"]).to_dict("records")
        for start in range(0, len(records), BATCH):
            objs = [
                Customer(
                    external_id=r["external_id"],
                    gender=r["gender"],
                    age=int(r["age"]),
                    annual_income=float(r["annual_income"]),
                    spending_score=float(r["spending_score"]),
                    attributes={SOURCE_ATTRIBUTE: SOURCE_VALUE},
                )
                for r in records[start : start + BATCH]
            ]
            Customer.objects.bulk_create(
                objs, update_conflicts=True, unique_fields=["external_id"], update_fields=UPDATE_FIELDS
            )
        changed: list[int] = []
        for start in range(0, len(ids), BATCH):
            changed.extend(
                Customer.objects.filter(external_id__in=ids[start : start + BATCH]).values_list("pk", flat=True)
            )
        result = {"deleted": deleted, "added": len(ids) - existing, "updated": existing}
        activity_record(
            actor=None,
            verb="customers.seed_demo",
            object_type="customers.Customer",
            object_repr=f"{len(ids)} synthetic demo customers",
            detail={"seed": seed, **result},
        )
        transaction.on_commit(lambda: customers_changed.send(sender=Customer, customer_ids=changed))
    return result


def demo_user_ensure(*, password: str) -> tuple[Any, bool]:
    """The `demo` login: in the Admin group, staff, with `password`. Returns (user, created)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=DEMO_USERNAME)
    user.is_staff = True
    user.is_active = True
    user.set_password(password)
    user.save()
    user.groups.add(Group.objects.get(name=ADMIN))
    return user, created


class Command(BaseCommand):
    help = (
        "Create SYNTHETIC demo customers (invented, mall-style: gender, age, annual income in k$, "
        "spending score 1-100) with five planted groups of different income and spending behaviour "
        "(" + "; ".join(g.name for g in PLANTED_GROUPS) + "), "
        f"each marked with the attribute {SOURCE_ATTRIBUTE}='{SOURCE_VALUE}' and ids {ID_PREFIX}00001...; "
        "upserted by external id. Also makes sure the demo login exists (user 'demo', password from "
        "DEMO_PASSWORD, default 'demo', Admin role), except under production settings. "
        "--remove deletes the synthetic demo customers (and their segment memberships) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=2000, help="How many customers (default 2000)")
        parser.add_argument("--seed", type=int, default=7, help="Random seed; the same seed gives the same table")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing to customers if any customer exists already"
        )
        parser.add_argument("--reset", action="store_true", help="Delete earlier synthetic demo customers first")
        parser.add_argument(
            "--remove",
            action="store_true",
            help="Only delete the synthetic demo customers and their segment memberships (one transaction); "
            "other customers, the demo login and the segmentations' runs are kept",
        )

    def handle(self, *args, customers: int, seed: int, if_empty: bool, reset: bool, remove: bool, **options):
        if remove:
            result = demo_customers_remove(actor=None)
            self.stdout.write(self.style.SUCCESS(f"Synthetic demo customers removed: {result.describe()}."))
            if result.customers:
                self.stdout.write(RESEGMENT_ADVICE)
            return
        if customers < 0:
            raise CommandError(f"--customers: expected 0 or more; got {customers}")
        if if_empty and Customer.objects.exists():
            self.stdout.write("Customers exist already; no demo customers added (--if-empty).")
        else:
            result = demo_customers_seed(n=customers, seed=seed, reset=reset)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Synthetic demo customers: {result['added']} added, {result['updated']} updated"
                    + (f", {result['deleted']} earlier demo customers deleted" if reset else "")
                    + f" (seed {seed})."
                )
            )
        if not getattr(settings, "SEGMENTA_ALLOW_DEMO_USER", False):
            self.stdout.write(
                self.style.WARNING(
                    "Demo login not created: SEGMENTA_ALLOW_DEMO_USER is False (production settings never "
                    "have a demo user with a known password)."
                )
            )
            return
        _, created = demo_user_ensure(password=settings.DEMO_PASSWORD)
        shown = "demo" if settings.DEMO_PASSWORD == "demo" else "the value of DEMO_PASSWORD"  # noqa: S105 - the documented demo default
        self.stdout.write(f"Demo login {'created' if created else 'ready'}: user 'demo', password {shown}.")
