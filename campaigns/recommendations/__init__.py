"""Product recommendations on the Django side: runs as rows, stored top-N lists, evaluation, pages.

models (RecommendationRun, Recommendation), selectors (purchase lines in, stored lists out),
services (request, execute, store set-based, activate), tasks, commands, admin, api, views,
columns (export columns). The maths is pure and lives in `segmentation.ml.recommend`.
"""
