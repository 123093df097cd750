"""The criteria that judge a number of segments k, in plain words: ONE mapping, read by the charts, the
run page and its hover texts. Pure (no Django).

Keys are the evidence's field names (`KEvidence`); the label is what a person reads, the explanation is
what the label's hover text says.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str  # "Calinski–Harabasz"
    explanation: str  # one sentence, ending with which direction is better
    higher_is_better: bool

    @property
    def better(self) -> str:
        return "higher is better" if self.higher_is_better else "lower is better"

    @property
    def title(self) -> str:
        """A chart title: 'Calinski–Harabasz (higher is better)'."""
        return f"{self.label} ({self.better})"


CRITERIA: dict[str, Criterion] = {
    c.key: c
    for c in (
        Criterion(
            "silhouette",
            "Silhouette",
            "How much closer customers are to their own segment than to the next one, from −1 to 1: "
            "higher = better separated segments.",
            True,
        ),
        Criterion(
            "calinski_harabasz",
            "Calinski–Harabasz",
            "Spread between segments divided by spread within them: higher = better separated, tighter segments.",
            True,
        ),
        Criterion(
            "davies_bouldin",
            "Davies–Bouldin",
            "How much each segment overlaps its most similar neighbour: lower = better separated segments.",
            False,
        ),
        Criterion(
            "stability",
            "Stability",
            "How often resampled fits put the same customers together (mean adjusted Rand index, 0 to 1): "
            "higher = segments that do not depend on chance.",
            True,
        ),
        Criterion(
            "inertia",
            "Inertia",
            "Sum of squared distances of customers to their segment's centre; it always falls as k grows, "
            "so look for the bend (the elbow): lower = tighter, but not on its own a reason for more segments.",
            False,
        ),
        Criterion(
            "elbow",
            "Elbow",
            "The k where adding another segment stops reducing the inertia much (the bend of the curve).",
            False,
        ),
    )
}

# The criteria drawn one panel each on the run page, in this order.
PANEL_CRITERIA: tuple[str, ...] = ("silhouette", "calinski_harabasz", "davies_bouldin", "stability")


def criterion_label(key: str) -> str:
    """'calinski_harabasz' -> 'Calinski–Harabasz'; an unknown key in words ('my_score' -> 'My score')."""
    found = CRITERIA.get(key)
    return found.label if found else key.replace("_", " ").strip().capitalize()


def criterion_explanation(key: str) -> str:
    found = CRITERIA.get(key)
    return found.explanation if found else ""
