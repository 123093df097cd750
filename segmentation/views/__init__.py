"""Insight pages: dashboard, runs (page, history, request, status), segments, comparison. Thin: selectors read."""

VIEW_PERM = "segmentation.view_segment"
CHART_CACHE_SECONDS = 3600
