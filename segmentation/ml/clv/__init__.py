"""Customer lifetime value by maximum likelihood on numpy / scipy (pure: never imports Django).

Modules: `summary` (transactions -> x, t_x, T, monetary value, holdout), `fitting` (the shared result,
input checks, weighted distinct rows, the bounded optimiser), `bgnbd` (BG/NBD and its no-dropout NBD
fallback), `gamma_gamma` (spend per purchase, CLV over a horizon), `pareto_nbd`, `validation`
(calibration / holdout check against a naive rate), `report` (all of it for one command or page).
"""

from segmentation.ml.clv import report  # noqa: F401
from segmentation.ml.clv.bgnbd import BGNBD, NBD  # noqa: F401
from segmentation.ml.clv.fitting import FitResult  # noqa: F401
from segmentation.ml.clv.gamma_gamma import GammaGamma  # noqa: F401
from segmentation.ml.clv.pareto_nbd import ParetoNBD  # noqa: F401
from segmentation.ml.clv.report import CLVReport, clv_report, clv_scores  # noqa: F401
from segmentation.ml.clv.summary import clv_summary  # noqa: F401
from segmentation.ml.clv.validation import HoldoutCheck, holdout_check  # noqa: F401
