"""Reads of segmentations, runs, segments and memberships, by topic.

- `runs`: a run, its status, evidence, features and history; the dashboard's entries; the command-line summary.
- `segments`: a segment and its members.
- `samples`: the stratified sample of a run's memberships that the charts and rules read.
- `comparison`: two runs side by side: matched segments, the migration matrix, movers.
"""
