"""The evidence of a run: one dataclass, one stored shape, read back unchanged."""

from __future__ import annotations

import json

import pandas as pd

from segmentation.ml import SegmentationConfig, segment
from segmentation.ml.types import Evidence, KEvidence


def test_evidence_of_a_real_result_round_trips_through_json():
    rows = [(20 + i % 7, 15 + (i % 3) * 40 + i % 5, 10 + (i % 3) * 35 + i % 4) for i in range(60)]
    df = pd.DataFrame(rows, columns=["age", "annual_income", "spending_score"])
    result = segment(df, SegmentationConfig(features=("annual_income", "spending_score"), k_max=4))
    assert result.ok, result.reason

    evidence = Evidence.from_result(result, notes=("restarted: the worker w:1 was lost during attempt 1",))
    stored = json.loads(json.dumps(evidence.as_dict(), allow_nan=False))

    assert set(stored) == {"per_k", "preferred", "disagreement", "missing", "timings", "notes", "structure"}
    assert [r["k"] for r in stored["per_k"]] == [2, 3, 4]
    assert Evidence.from_dict(stored) == evidence
    assert evidence.knee == result.preferred.get("elbow")


def test_missing_values_are_null_and_empty_evidence_reads_back_empty():
    evidence = Evidence(per_k=(KEvidence(2, 4.0, float("nan"), None, None, None),), preferred={"silhouette": 2})
    stored = evidence.as_dict()
    assert stored["per_k"] == [
        {
            "k": 2,
            "inertia": 4.0,
            "silhouette": None,
            "calinski_harabasz": None,
            "davies_bouldin": None,
            "stability": None,
        }
    ]
    assert "notes" not in stored and Evidence.from_dict(stored).knee is None
    assert Evidence.from_dict({}) == Evidence()
