"""The rule that chooses k, on hand-made evidence."""

from __future__ import annotations

from segmentation.ml.kselect import choose_k, find_knee
from segmentation.ml.types import KEvidence


def ev(k, sil, ch, db, stab, inertia=None):
    return KEvidence(
        k=k, inertia=inertia or 100.0 / k, silhouette=sil, calinski_harabasz=ch, davies_bouldin=db, stability=stab
    )


def test_agreement_wins_without_disagreement():
    evidence = [ev(2, 0.3, 100, 1.0, 0.95), ev(3, 0.6, 300, 0.5, 0.95), ev(4, 0.4, 200, 0.8, 0.9)]

    choice = choose_k(evidence, knee=3)

    assert choice.k == 3 and not choice.disagreement
    assert choice.preferred == {
        "silhouette": 3,
        "calinski_harabasz": 3,
        "davies_bouldin": 3,
        "elbow": 3,
        "stability": 2,
    }
    assert choice.reason == (
        "k = 3: preferred by silhouette, Calinski–Harabasz and Davies–Bouldin; the elbow's knee is "
        "also at 3; stability 0.95."
    )


def test_the_knee_alone_never_wins():
    evidence = [ev(2, 0.3, 100, 1.0, 0.9), ev(3, 0.6, 300, 0.5, 0.9), ev(4, 0.4, 200, 0.8, 0.9)]

    choice = choose_k(evidence, knee=4)

    assert choice.k == 3
    assert "the elbow's knee is at 4" in choice.reason


def test_the_knee_breaks_a_tie_between_the_others():
    evidence = [ev(2, 0.6, 100, 0.9, 0.9), ev(3, 0.5, 300, 0.5, 0.9), ev(4, 0.4, 200, 0.4, 0.9)]  # sil 2, ch 3, db 4

    choice = choose_k(evidence, knee=4)

    assert choice.k == 4 and choice.disagreement
    assert (
        "The criteria disagree (silhouette prefers 2, Calinski–Harabasz prefers 3, Davies–Bouldin prefers 4)"
        in choice.reason
    )


def test_a_three_way_tie_goes_to_the_best_mean_rank_then_the_smaller_k():
    evidence = [ev(2, 0.6, 100, 0.9, 0.9), ev(3, 0.5, 300, 0.5, 0.9), ev(4, 0.4, 200, 0.4, 0.9)]

    assert choose_k(evidence, knee=None).k == 3  # ranks: k=2 (1,3,3), k=3 (2,1,2), k=4 (3,2,1)


def test_unstable_k_are_set_aside():
    evidence = [ev(2, 0.3, 100, 1.0, 0.95), ev(3, 0.5, 300, 0.6, 0.9), ev(4, 0.7, 400, 0.4, 0.5)]

    choice = choose_k(evidence, knee=None)

    assert choice.k == 3
    assert (
        "Set aside as unstable (stability below 0.75): silhouette's k = 4 (silhouette 0.70 there against 0.50 "
        "at k = 3; stability 0.50)" in choice.reason
    )
    assert "the inertia curve has no clear elbow" in choice.reason


def test_no_stable_k_is_said():
    evidence = [ev(2, 0.3, 100, 1.0, 0.5), ev(3, 0.5, 300, 0.6, 0.4)]

    choice = choose_k(evidence, knee=None)

    assert choice.k == 3
    assert "No k reached stability 0.75" in choice.reason


def test_knee_of_a_clear_elbow_and_of_none():
    assert find_knee([1, 2, 3, 4, 5, 6], [100, 20, 15, 12, 10, 9]) == 2
    assert find_knee([1, 2], [10, 5]) is None
    assert find_knee([1, 2, 3, 4], [5, 5, 5, 5]) is None


def test_silhouette_many_equals_scikit_learn():
    import numpy as np
    from sklearn.metrics import silhouette_score

    from segmentation.ml.kselect import silhouette_many

    rng = np.random.default_rng(3)
    x = rng.normal(size=(700, 3))
    labelings = {k: rng.integers(0, k, size=700) for k in (2, 3, 7)}
    labelings[9] = np.r_[np.arange(9), rng.integers(0, 3, size=691)]  # singletons score 0
    labelings[40] = rng.integers(0, 40, size=700)  # many segments: summed per segment, not by one-hot products
    labelings[41] = np.r_[np.arange(3), rng.integers(5, 41, size=697)]  # segments 3 and 4 absent: not counted
    labelings[42] = np.r_[np.arange(42), rng.integers(0, 20, size=658)]  # a second labeling with many segments

    got = silhouette_many(x, labelings, chunk_rows=100)

    for k, labels in labelings.items():
        assert abs(got[k] - silhouette_score(x, labels)) < 1e-9
