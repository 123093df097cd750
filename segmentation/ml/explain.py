"""What explains a segment: readable rules from a shallow decision tree.

Pure (pandas / scikit-learn only, never Django). A decision tree (depth ≤ 3, fixed seed) learns
"is this customer in the segment?" from the features of a sample; every leaf that predicts "yes"
becomes a rule (the conditions on its path, merged per feature), with
- precision: the share of customers matching the rule who are in the segment;
- coverage: the share of the segment's customers matching the rule.
Thresholds read like every other number: "income > $58,138", "age between 20 and 40 years".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier

from segmentation.ml.formatting import format_number, format_with_unit, unit_before


@dataclass(frozen=True)
class Rule:
    text: str
    precision: float
    coverage: float
    support: int  # customers of the sample matching the rule


def _threshold(value: float) -> float:
    """A rule's threshold as people read it: a whole number from 10 up (printed by `ml.formatting`)."""
    return float(round(value)) if abs(value) >= 10 else value


def segment_rules(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    max_depth: int = 3,
    min_precision: float = 0.5,
    random_state: int = 0,
    describe: Callable[[str], tuple[str, str]] | None = None,
) -> list[Rule]:
    """Rules for y == True, best first (by coverage × precision). `describe(feature)` gives (name, unit)."""
    y = np.asarray(y, dtype=bool)
    keep = X.notna().all(axis=1).to_numpy()
    X, y = X[keep], y[keep]
    if len(X) == 0 or y.sum() == 0 or y.all():
        return []
    features: Sequence[str] = list(X.columns)
    tree = DecisionTreeClassifier(
        max_depth=min(max_depth, 3), min_samples_leaf=max(5, len(X) // 200), random_state=random_state
    )
    tree.fit(X.to_numpy(dtype=float), y)
    t = tree.tree_
    total_pos = int(y.sum())
    rules: list[Rule] = []

    def walk(node: int, bounds: dict[int, list[float | None]]) -> None:
        if t.children_left[node] == -1:  # leaf
            counts = t.value[node][0]
            n = float(t.n_node_samples[node])
            # tree_.value holds class fractions (sklearn ≥ 1.4) or counts; both give the same share.
            share_pos = float(counts[1] / counts.sum()) if len(counts) > 1 and counts.sum() else 0.0
            if share_pos <= min_precision:
                return
            pos = int(round(share_pos * n))
            parts = []
            for fi, (lo, hi) in sorted(bounds.items()):
                name, unit = describe(features[fi]) if describe else (features[fi].replace("_", " "), "")
                if lo is not None and hi is not None:
                    low = _threshold(lo)
                    low_text = format_with_unit(low, unit) if unit_before(unit) else format_number(low)
                    parts.append(f"{name} between {low_text} and {format_with_unit(_threshold(hi), unit)}")
                elif lo is not None:
                    parts.append(f"{name} > {format_with_unit(_threshold(lo), unit)}")
                elif hi is not None:
                    parts.append(f"{name} ≤ {format_with_unit(_threshold(hi), unit)}")
            text = " and ".join(parts) or "every customer"
            rules.append(Rule(text=text, precision=share_pos, coverage=pos / total_pos, support=int(n)))
            return
        fi, thr = int(t.feature[node]), float(t.threshold[node])
        lo, hi = bounds.get(fi, [None, None])
        left = dict(bounds)
        left[fi] = [lo, thr if hi is None else min(hi, thr)]
        walk(int(t.children_left[node]), left)
        right = dict(bounds)
        right[fi] = [thr if lo is None else max(lo, thr), hi]
        walk(int(t.children_right[node]), right)

    walk(0, {})
    rules.sort(key=lambda r: r.coverage * r.precision, reverse=True)
    return rules
