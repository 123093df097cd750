"""Charts of a segmentation run: plain data in, a `plotly.graph_objects.Figure` out.

Pure (numpy / pandas / plotly only, never Django). Every figure has a title, axis labels in
real units and a legend where it has more than one series; `render()` turns a figure into an
HTML fragment with a fixed div id (see `DIV_IDS`) so pages and tests can find each chart.

Segments are passed as plain dicts, the shape pages read from the database:
    {"label": int, "name": str, "color": "#rrggbb", "size": int,
     "centroid": {feature: value in real units},
     "profile": {feature: {"mean", "median", "min", "max", "z"}}}
Evidence rows are `KEvidence` dicts: {k, inertia, silhouette, calinski_harabasz, davies_bouldin, stability}.
"""

from segmentation.ml.charts.base import (
    CRITERIA,
    DIV_IDS,
    FALLBACK_COLORS,
    TEMPLATE,
    feature_label,
    feature_name,
    feature_unit,
    format_value,
    render,
)
from segmentation.ml.charts.comparison import migration_figure
from segmentation.ml.charts.evidence import criteria_figure, elbow_figure, silhouette_figure
from segmentation.ml.charts.maps import scatter2d_figure, scatter3d_figure
from segmentation.ml.charts.profiles import box_figure, heatmap_figure, radar_figure

__all__ = [
    "CRITERIA",
    "DIV_IDS",
    "FALLBACK_COLORS",
    "TEMPLATE",
    "box_figure",
    "criteria_figure",
    "elbow_figure",
    "feature_label",
    "feature_name",
    "feature_unit",
    "format_value",
    "heatmap_figure",
    "migration_figure",
    "radar_figure",
    "render",
    "scatter2d_figure",
    "scatter3d_figure",
    "silhouette_figure",
]
