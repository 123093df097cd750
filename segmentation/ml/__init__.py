"""The segmentation engine: pure pandas / numpy / scikit-learn / plotly. Never imports Django.

    from segmentation.ml import SegmentationConfig, segment
    result = segment(df, SegmentationConfig(features=("annual_income", "spending_score")))
"""

from segmentation.ml.types import (  # noqa: F401
    KEvidence,
    SegmentationConfig,
    SegmentationResult,
    SegmentProfile,
)
