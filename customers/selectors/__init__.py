"""Reads of customer data, by page: `customers` (the list and one customer) and `overview` (the data
overview's aggregates, histograms and sample)."""
