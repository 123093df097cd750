"""Celery tasks of the customers app: thin wrappers that load by id and call the services.

`customers.run_order_import` runs a queued order import (`customers.orders.service.order_import_run`):
the claim (queued -> running, one row changed) makes a redelivered message a no-op. A refused file
fails the import with its reason; an unexpected error fails it too (the service records it) and is
raised for the worker's log.

`customers.reap_stuck_order_imports` (every 5 minutes, declared in `config/celery.py`) fails imports
left queued or running by a dead worker (`customers.orders.service.order_imports_reap_stuck`). The import
task's soft time limit (SEGMENTA_RUN_TIME_LIMIT) fails it "timed out", changing nothing; if ignored, the
hard limit kills the process and the reaper fails the import later.

`customers.run_customer_import` runs a queued customer import (an upload over
`SEGMENTA_IMPORT_INLINE_MAX_BYTES`) the same way, within `SEGMENTA_IMPORT_TIME_LIMIT` seconds.

`customers.reap_stuck_customer_imports` (every 5 minutes, `config/celery.py`) fails customer imports left
queued or running by a dead worker (`customers.imports.jobs.customer_imports_reap_stuck`, the same rule).

`customers.fit_customer_values` fits the lifetime-value models and stores every customer's value
(`customers.orders.value_service.customer_value_fit`); it loads nothing, for scheduling; with a fit id
it runs the fit row queued by the lifetime-value page (`value_fit_run`).
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from customers.imports.jobs import customer_import_run, customer_imports_reap_stuck
from customers.orders.service import order_import_run, order_imports_reap_stuck
from customers.orders.value_service import customer_value_fit, value_fit_run


@shared_task(
    name="customers.run_order_import",
    acks_late=True,
    soft_time_limit=settings.SEGMENTA_RUN_TIME_LIMIT,
    time_limit=settings.SEGMENTA_RUN_TIME_LIMIT + 60,
)
def run_order_import(import_id: int) -> str:
    return order_import_run(import_id=import_id)


@shared_task(name="customers.reap_stuck_order_imports")
def reap_stuck_order_imports() -> int:
    return order_imports_reap_stuck(older_than=settings.SEGMENTA_RUN_STUCK_AFTER)


@shared_task(
    name="customers.run_customer_import",
    acks_late=True,
    soft_time_limit=settings.SEGMENTA_IMPORT_TIME_LIMIT,
    time_limit=settings.SEGMENTA_IMPORT_TIME_LIMIT + 60,
)
def run_customer_import(import_id: int) -> str:
    """A queued customer import (a large upload); past the soft limit it fails with that reason."""
    return customer_import_run(import_id=import_id)


@shared_task(name="customers.reap_stuck_customer_imports")
def reap_stuck_customer_imports() -> int:
    return customer_imports_reap_stuck()


@shared_task(
    name="customers.fit_customer_values",
    soft_time_limit=settings.SEGMENTA_RUN_TIME_LIMIT,
    time_limit=settings.SEGMENTA_RUN_TIME_LIMIT + 60,
)
def fit_customer_values(horizon_weeks: int = 52, pareto: bool = False, fit_id: int | None = None) -> str:
    """Fit on every order to the last order day; returns the fit's status (ok, boundary, failed).

    With `fit_id` (the page's "Fit now"), runs that queued row instead, with its windows and horizon
    ("skipped" when it was already claimed). Pareto/NBD (a comparison only, and the slow part) is
    skipped unless asked for."""
    if fit_id is not None:
        return value_fit_run(fit_id=fit_id, pareto=pareto)
    return customer_value_fit(horizon_weeks=horizon_weeks, pareto=pareto).status
