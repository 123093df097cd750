"""Importing customer files, by step: `reading` (open a CSV, TSV or xlsx file in chunks), `columns`
(map headers to fields and attributes), `validation` (check each chunk, collect rejected rows),
`writers` (store the valid rows) and `service` (`customer_import`, the ImportJob record)."""
