"""Product recommendations (pure: pandas / numpy / scipy / implicit, never Django).

`interactions` (order lines -> customer x product matrix, cleaning, date split), `models`
(popularity, segment popularity, item-kNN, ALS via `implicit`, blend, top-n), `metrics` (HitRate,
Precision, Recall, NDCG, MAP at 10, coverage), `pipeline` (validation choice of parameters, holdout
evaluation, the served model), `serving` (every customer's list with reasons, cold start, segment-defining
products).
"""

from segmentation.ml.recommend.interactions import (  # noqa: F401
    Interactions,
    build_interactions,
    clean_order_lines,
    split_by_date,
)
from segmentation.ml.recommend.pipeline import (  # noqa: F401
    MODELS,
    RecommendConfig,
    RecommendResult,
    recommend,
)
from segmentation.ml.recommend.serving import segment_lift  # noqa: F401
