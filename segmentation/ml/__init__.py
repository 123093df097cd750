"""The segmentation engine: pure pandas / numpy / scikit-learn / plotly. Never imports Django.

    from segmentation.ml import SegmentationConfig, assign, segment
    result = segment(df, SegmentationConfig(features=("annual_income", "spending_score")))
    labels, distances = assign(new_customers_df, result.model)

Modules: `types` (the contract, and `Evidence`: how k was chosen, as stored), `config` (the one
validator of a configuration, errors keyed by field), `fields` (canonical customer fields and units),
`errors` (the project's exception root), `engine` (segment, assign, validate_config), `features`
(encoding, missing values, scaling), `kselect` (criteria per k and the rule that chooses k),
`profiles` (statistics, names, flags), `strategies` (the default strategy rule table, as data).
"""

from segmentation.ml.engine import assign, segment, validate_config  # noqa: F401
from segmentation.ml.strategies import STRATEGY_RULES  # noqa: F401
from segmentation.ml.types import (  # noqa: F401
    KEvidence,
    SegmentationConfig,
    SegmentationResult,
    SegmentProfile,
)
