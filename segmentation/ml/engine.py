"""The segmentation engine: `segment()` a customer frame under a config, `assign()` new customers.

    result = segment(df, SegmentationConfig(features=("annual_income", "spending_score")))
    labels, distances = assign(new_df, result.model)

Steps of `segment()` (each reported through `progress(stage, percent)`):

1. *preparing* (0–10 %): the configuration is validated (`validate_config`), the rows are sorted by
   the frame's index (so a shuffled frame gives the same partition), features are encoded, the
   members chosen by the membership rule (`drop`: every feature; `median` / `most_frequent`: more
   than half of them, the rest imputed; everyone else is left out and counted by reason in
   `result.excluded`, see `features.members_mask`), and the matrix scaled (`features.FeaturePreparer`).
2. *choosing k* (10–70 %): every criterion for every k in [k_min, k_max] and the documented vote
   (`kselect`). Exact on up to `config.subsample_rows` rows; above that the criteria are measured on
   a fixed-seed subsample of that size. A fixed `config.k` skips the vote: only that k is fitted
   and only its own evidence measured (for the run's quality), and the reason says so; above the
   threshold that evidence is the final fit's (`KSelector.measure` on the evaluation set), no fit of its own.
3. *fitting* (70–90 %): KMeans (k-means++). On exact data this is the `n_init`-start fit made while
   choosing k. On larger data the best of the subsample's `n_init` starts seeds a fit on all rows,
   which competes with `FINAL_EXTRA_INITS` fresh k-means++ starts on all rows; when k exceeds
   `n_init` it competes instead with the best few of `starts_for(k, n_init)` k-means++ starts searched
   on samples, each carried to all rows (`starts.search_starts`; a fixed k has no subsample fit: only
   those starts, whatever k). The lowest inertia wins.
   Labels are then ordered by a stable rule: size descending, ties by the centroid's coordinates.
   Then the structure check (`kselect.structure_gain`): `clear` or `weak` against structureless
   data of the same shape; a weak structure is said in the reason and `result.structure`.
4. *profiling* (90–100 %): statistics, names, flags and strategies (`profiles`).

Bad input never raises: the result has `ok=False` and a `reason` naming the feature, the value or
the count at fault.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from segmentation.ml.config import config_errors
from segmentation.ml.errors import EngineInputError
from segmentation.ml.features import FeaturePreparer, prepare_new
from segmentation.ml.fields import units_for
from segmentation.ml.kselect import (
    KSelector,
    choose_k,
    fixed_evidence_plan,
    sample_indices,
    starts_for,
    structure_gain,
    structure_note,
    structure_of,
)
from segmentation.ml.profiles import build_profiles
from segmentation.ml.rfm import is_rfm_model, rfm_assign
from segmentation.ml.starts import fit_from_starts, search_starts
from segmentation.ml.types import KEvidence, SegmentationConfig, SegmentationResult

Progress = Callable[[str, int], None]

FINAL_EXTRA_INITS = 2
MODEL_VERSION = 1


def validate_config(config: SegmentationConfig, columns: Iterable[object]) -> list[str]:
    """Every problem of `config` against the available `columns` (empty when it can run).

    The configuration rules are `segmentation.ml.config`'s (the same the run service applies); the
    engine adds its own tuning parameters.
    """
    values = config.to_dict()
    if not config.age_groups:
        values["age_bins"] = None  # the bins matter only when age groups are used
    errors = config_errors(values, available=sorted(str(c) for c in columns))
    problems = [f"{field}: {text}" for field, text in errors.items()]
    if config.n_init < 1:
        problems.append(f"n_init must be at least 1; got {config.n_init}")
    if config.silhouette_sample < 2:
        problems.append(f"silhouette_sample must be at least 2; got {config.silhouette_sample}")
    if config.stability_resamples < 0:
        problems.append(f"stability_resamples must be 0 or more; got {config.stability_resamples}")
    if config.subsample_rows < 2:
        problems.append(f"subsample_rows must be at least 2; got {config.subsample_rows}")
    return problems


def segment(df: pd.DataFrame, config: SegmentationConfig, *, progress: Progress | None = None) -> SegmentationResult:
    """Segment the customers of `df` (its index identifies them) under `config`; never raises on bad input."""
    try:
        return _segment(df, config, progress=progress)
    except EngineInputError as exc:
        return SegmentationResult(ok=False, reason=str(exc), config=config)


def assign(df: pd.DataFrame, model: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Labels and distances of new customers: the nearest centroid of a fitted run's `result.model` (an RFM
    run's model: `rfm.rfm_assign`, its stored cut points and groups).

    Uses the run's preprocessing and membership rule (`features.members_mask`): a customer without the
    run's features (under its missing-value policy) gets label -1 and distance NaN, never a segment.
    Customers beyond the run's outlier fences are placed like anyone else: the outliers that a run set
    apart from its fit are placed this way too (`features` module doc).
    """
    if is_rfm_model(model):  # an RFM run: score with its stored cut points, place in the group's segment
        return rfm_assign(df, model)
    x = prepare_new(df, model)
    centroids = np.asarray(model["centroids"], dtype=float)
    labels = np.empty(len(x), dtype=np.int64)
    distances = np.empty(len(x), dtype=float)
    chunk = 200_000
    for start in range(0, len(x), chunk):
        part = x[start : start + chunk]
        d2 = ((part[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2)
        best = d2.argmin(axis=1)
        labels[start : start + chunk] = best
        distances[start : start + chunk] = np.sqrt(d2[np.arange(len(part)), best])
    outside = np.isnan(x).any(axis=1)
    labels[outside], distances[outside] = -1, np.nan
    return labels, distances


# -- internals --------------------------------------------------------------------------------


class _Reporter:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.timings: dict[str, float] = {}
        self._stage: str | None = None
        self._t = time.perf_counter()
        self._t0 = self._t

    def stage(self, name: str, percent: int) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.timings[self._stage] = round(now - self._t, 4)
        self._stage, self._t = name, now
        self.say(name, percent)

    def say(self, name: str, percent: int) -> None:
        if self.progress is not None:
            self.progress(name, int(percent))

    def done(self) -> dict[str, float]:
        self.stage("done", 100)
        self.timings.pop("done", None)
        self.timings["total"] = round(time.perf_counter() - self._t0, 4)
        return self.timings


def _sorted_by_index(df: pd.DataFrame) -> pd.DataFrame:
    if df.index.is_monotonic_increasing:
        return df
    try:
        return df.sort_index(kind="mergesort")
    except TypeError:  # an index of mixed types: order by its text
        order = np.argsort(df.index.astype(str).to_numpy(), kind="mergesort")
        return df.iloc[order]


def _segment(df: pd.DataFrame, config: SegmentationConfig, *, progress: Progress | None) -> SegmentationResult:
    report = _Reporter(progress)
    report.stage("preparing", 0)
    problems = validate_config(config, df.columns)
    if problems:
        raise EngineInputError("; ".join(problems))
    df = _sorted_by_index(df)
    prep = FeaturePreparer(
        features=tuple(config.features),
        scaler=config.scaler,
        scalers=config.scalers,
        missing=config.missing,
        age_groups=config.age_groups,
        age_bins=tuple(config.age_bins),
        transform=config.transform,
        transforms=config.transforms,
        units=units_for(config.features, config.units),
        outliers=config.outliers,
    ).fit(df)
    encoded = prep.encoded_
    n = len(encoded)
    dropped = len(df) - n - len(prep.outliers_)  # outliers are set apart from the fit, not dropped
    x = prep.transform_encoded(encoded)
    eval_idx = sample_indices(n, config.subsample_rows, config.random_state)
    exact = len(eval_idx) == n
    x_eval = x[eval_idx]
    distinct = len(np.unique(x_eval, axis=0)) if n else 0
    notes: list[str] = []

    def too_few(needed: int, what: str) -> EngineInputError:
        why = f" ({dropped} of {len(df)} rows dropped for missing values)" if dropped else ""
        return EngineInputError(f"too few customers: {n} usable{why}; {what} needs at least {needed}")

    if config.k is not None:
        k = config.k
        if n < k:
            raise too_few(k, f"k = {k}")
        if distinct < k:
            raise EngineInputError(f"too few distinct customers: only {distinct} different feature values for k = {k}")
        ks = (k, k) if k >= 2 and k < len(x_eval) else None
    else:
        needed = max(config.k_min, 2) + 1
        if n < needed:
            raise too_few(needed, f"choosing k from {config.k_min} to {config.k_max}")
        if distinct < needed:
            raise EngineInputError(
                f"too few distinct customers: only {distinct} different feature values; "
                f"choosing k from {config.k_min} needs at least {needed}"
            )
        # at least two customers per segment on average: near k = n every criterion degenerates
        k_max = max(config.k_min, min(config.k_max, len(x_eval) // 2, distinct - 1))
        if k_max < config.k_max:
            notes.append(
                f"k_max lowered from {config.k_max} to {k_max} for {min(n, distinct)} distinct customers "
                "(at least two per segment on average)"
            )
        ks = (config.k_min, k_max)

    report.stage("choosing k", 10)
    evidence: list[KEvidence] = []
    selector = None
    knee = None
    final_fit = None
    if ks is not None:
        selector = KSelector(
            k_min=ks[0],
            k_max=ks[1],
            n_init=config.n_init,
            silhouette_sample=config.silhouette_sample,
            stability_resamples=config.stability_resamples,
            random_state=config.random_state,
        )
        if config.k is not None and not exact:
            # a fixed k above the sampling threshold: its evidence is the final fit's, measured on the
            # evaluation set (`KSelector.measure`), not that of a separate fit on it
            final_fit = _fit_final(x, k, config, seed=None, x_eval=x_eval)
            evidence = [selector.measure(x_eval, final_fit[1])]
            selector = None
        else:
            selector.fit(x_eval, progress=lambda _k, frac: report.say("choosing k", 10 + int(60 * frac)))
            evidence = selector.evidence_
            knee = selector.knee_

    if config.k is None:
        candidates, crumbs = _share_candidates(evidence, selector, config.min_share)
        choice = choose_k(candidates, knee)
        k, preferred, disagreement, reason = choice.k, choice.preferred, choice.disagreement, choice.reason
        if crumbs:
            reason += " " + _crumbs_note(crumbs, config.min_share, all_set_aside=len(candidates) == len(evidence))
    else:
        preferred, disagreement = {}, False
        reason = f"k = {k}: fixed by the configuration"
        if evidence:
            ev = evidence[0]
            reason += f"; only k = {k} was fitted and measured (no other k, no vote): " + ", ".join(
                f"{label} {value:.2f}"
                for label, value in (
                    ("silhouette", ev.silhouette),
                    ("Calinski–Harabasz", ev.calinski_harabasz),
                    ("Davies–Bouldin", ev.davies_bouldin),
                    ("stability", ev.stability),
                )
                if value is not None
            )
            if final_fit is not None:
                rows, resamples, inits = fixed_evidence_plan(
                    k, config.n_init, config.stability_resamples, config.silhouette_sample
                )
                measured = "silhouette and stability" if ev.stability is not None else "silhouette"
                sampled = f"{measured} on {min(rows, len(x_eval)):,} rows"
                if ev.stability is not None:
                    sampled += (
                        f"; stability over {resamples} resamples of {inits} k-means++ start{'s' if inits > 1 else ''}"
                        " each"
                    )
                reason += f" ({sampled}); measured on the final fit's segments"
        reason += "."
    if notes:
        reason += " " + " ".join(n_ + "." for n_ in notes)
    if not exact:
        reason += f" The criteria were measured on a fixed-seed sample of {len(x_eval):,} of {n:,} customers."

    report.stage("fitting", 70)
    if final_fit is not None:
        raw_labels, raw_centroids, inertia = final_fit
    elif selector is not None and exact:
        km = selector.models_[k]
        raw_labels, raw_centroids, inertia = km.labels_, km.cluster_centers_, float(km.inertia_)
    else:
        raw_labels, raw_centroids, inertia = _fit_final(
            x, k, config, seed=selector.models_[k] if selector else None, x_eval=x_eval
        )
    labels, centroids = _stable_order(raw_labels, raw_centroids)
    distances = np.sqrt(((x - centroids[labels]) ** 2).sum(axis=1))
    gain = structure_gain(x, centroids, random_state=config.random_state)
    if note := structure_note(gain, k):
        reason += f" {note}."

    report.stage("profiling", 90)
    profiles = build_profiles(encoded, labels, k, roles=config.roles, units=config.units)
    chosen = next((e for e in evidence if e.k == k), None)
    quality: dict[str, float] = {"inertia": inertia}
    if gain is not None:
        quality["structure_gain"] = gain
    if chosen is not None:
        for name in ("silhouette", "calinski_harabasz", "davies_bouldin", "stability"):
            value = getattr(chosen, name)
            if value is not None:
                quality[name] = value
    model = {
        "version": MODEL_VERSION,
        **prep.to_dict(),
        "k": int(k),
        "centroids": [[float(v) + 0.0 for v in row] for row in centroids],
        "labels": list(range(int(k))),
        "names": [p.name for p in profiles],
    }
    transforms = {f: dict(t) for f, t in prep.transforms_.items()}
    outliers = prep.outliers_summary()
    excluded = dict(prep.excluded_)
    model["outliers"] = outliers
    model["transform_reasons"] = {f: t["reason"] for f, t in transforms.items()}
    timings = report.done()
    return SegmentationResult(
        ok=True,
        reason=reason,
        config=config,
        chosen_k=int(k),
        evidence=evidence,
        preferred=preferred,
        disagreement=disagreement,
        structure=structure_of(gain),
        labels=labels,
        distances=distances,
        index=encoded.index.to_numpy(),
        segments=profiles,
        quality=quality,
        rows_used=n + len(prep.outliers_),  # the members: the fitted rows and the outliers placed after the fit
        rows_dropped=dropped,
        missing=dict(prep.missing_counts_),
        excluded=excluded,
        model=model,
        timings=timings,
        transforms=transforms,
        outliers=outliers,
    )


def _share_candidates(
    evidence: list[KEvidence], selector: KSelector | None, min_share: float
) -> tuple[list[KEvidence], dict[int, float]]:
    """The evidence of the k whose fit has no segment below its floor, and the smallest share of each k
    set aside. The floor is `min_share` of the rows, or half an equal share (1 / 2k) when that is
    smaller, so a large k stays possible. When every k has such a crumb, every k stays a candidate."""
    if selector is None or min_share <= 0:
        return evidence, {}
    smallest: dict[int, float] = {}
    for e in evidence:
        labels = selector.models_[e.k].labels_
        smallest[e.k] = float(np.bincount(labels, minlength=e.k).min() / len(labels))
    crumbs = {k: share for k, share in smallest.items() if share < min(min_share, 1 / (2 * k))}
    candidates = [e for e in evidence if e.k not in crumbs]
    return (candidates or evidence), crumbs


def _crumbs_note(crumbs: dict[int, float], min_share: float, *, all_set_aside: bool) -> str:
    listed = ", ".join(f"k = {k} (smallest {share:.1%})" for k, share in sorted(crumbs.items()))
    if all_set_aside:
        return f"Every k has a segment below the minimum share of {min_share:.0%}: {listed}; none was set aside."
    return f"Not candidates, with a segment below the minimum share of {min_share:.0%}: {listed}."


def _fit_final(
    x: np.ndarray, k: int, config: SegmentationConfig, *, seed: KMeans | None, x_eval: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """KMeans on all rows: the best starts searched on samples (`starts.search_starts`) carried to all rows.

    A fixed k (no `seed`) and a large k (k > `n_init`) search `starts_for(k, n_init)` starts on samples of
    the evaluation set and carry the best few (a `seed`, the subsample's best fit, competes with them): n_init
    starts on all rows would cost as much as scikit-learn's `KMeans(n_init=10)` on its own (issue 10).
    Auto-k with k <= `n_init` warm-starts from the subsample's best fit against `FINAL_EXTRA_INITS` fresh
    k-means++ starts on all rows.
    """
    if x_eval is not None and k < len(x_eval) < len(x) and (seed is None or k > config.n_init):
        searched = search_starts(x_eval, k, starts=starts_for(k, config.n_init), random_state=config.random_state)
        return fit_from_starts(x, k, [*([seed.cluster_centers_] if seed is not None else []), *searched])
    fits: list[KMeans] = []
    if seed is not None:
        fits.append(KMeans(n_clusters=k, init=seed.cluster_centers_, n_init=1).fit(x))
        extra = [
            KMeans(n_clusters=k, init="k-means++", n_init=1, random_state=config.random_state + i + 1)
            for i in range(FINAL_EXTRA_INITS)
        ]
    else:
        extra = [KMeans(n_clusters=k, init="k-means++", n_init=config.n_init, random_state=config.random_state)]
    fits.extend(km.fit(x) for km in extra)
    best = min(fits, key=lambda km: km.inertia_)  # ties: the warm start (first)
    return best.labels_, best.cluster_centers_, float(best.inertia_)


def _stable_order(labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Relabel: size descending, ties by the centroid's coordinates (lexicographic)."""
    k = len(centroids)
    sizes = np.bincount(labels, minlength=k)
    order = sorted(range(k), key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 9))))
    new_of_old = np.empty(k, dtype=np.int64)
    new_of_old[order] = np.arange(k)
    return new_of_old[labels], centroids[order]
