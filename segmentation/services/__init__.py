"""Writes of the segmentation app, by topic.

`config` (segmentations and their engine configuration), `runs` (request, enqueue, execute, activate),
`claims` (who may execute a run), `memberships` (writing and removing a run's memberships, assigning
new customers), `housekeeping` (reaping stuck runs, pruning history), `strategies` (a segment's
strategy), `lineage` (a segment's identity across runs), `schedules` (periodic runs).
"""
