"""Reads of customer data, by page: `customers` (the list and one customer), `overview` (the data overview's
aggregates and sample), `summaries` (its per-column summaries and correlations) and `columns` (roles, units)."""
