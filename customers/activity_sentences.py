"""The customers app's activity entries in words (discovered by core at start: `core.activity`)."""

from __future__ import annotations

from core.activity import activity_verb_register

for verb, label, sentence in (
    (
        "customers.imported",
        "Customers imported",
        "{actor} imported {object}: {added} added, {updated} updated, {rejected} rejected",
    ),
    ("customers.seed_demo", "Demo customers added", "{actor} added {object}"),
    ("customers.exported", "Customers exported", "{actor} exported {rows} customers from the customer list"),
    ("orders.imported", "Orders imported", "{actor} imported {imported} order lines ({with_customer} with a customer)"),
    (
        "orders.values_fitted",
        "Lifetime values fitted",
        "{actor} fitted lifetime values for {customers} customers ({status})",
    ),
    ("customers.demo_removed", "Demo customers removed", "{actor} removed the demo customers: {object}"),
    ("customers.deleted", "Customers deleted", "{actor} deleted customers: {object}"),
):
    activity_verb_register(verb, label=label, sentence=sentence)
