"""Choosing the number of segments k, with evidence.

For every k in [k_min, k_max] `KSelector.fit` measures, on the *evaluation set*:

- inertia (within-segment sum of squares) of KMeans with `starts_for(k, n_init)` k-means++ starts
  (`n_init`, at least k as k grows), and the knee of
  the inertia curve (Kneedle, convex / decreasing; None when the curve has no knee);
- silhouette on a fixed-seed sample of at most `silhouette_sample` points (higher is better);
- Calinski–Harabasz (higher is better) and Davies–Bouldin (lower is better) on the evaluation set;
- stability: the mean adjusted Rand index between the partitions of `stability_resamples` (10) KMeans
  fits on bootstrap resamples of the silhouette sample, each predicting that same sample (1 = the same
  segments every time). Measured over random states 0–5 on the wholesale table (440 rows, 6 money
  columns, raw and log1p), its spread per k (standard deviation) was 0.02–0.07 with 5 resamples,
  0.01–0.05 with 10 and 0.01–0.03 with 20 (at 2.6x the time of 10); 10 halves the noise around the
  0.75 cut for about 2x the stability time. With it, seeds 0–9 and 10 row orders (rows renumbered
  as a new import would) give the same k in 10/10 on the wholesale table raw and log1p and on
  `tests/synth.wholesale_like`.

The evaluation set is every row when the data has at most `subsample_rows` rows (exact), otherwise a
fixed-seed random subsample of that size: the criteria are statistics of the shape of the data and a
uniform sample of tens of thousands of rows estimates them well, at a fraction of the cost. The final
model is then fitted on all rows (see `engine.py`). A fixed k above that threshold has no vote: its
evidence is that of the final fit (`KSelector.measure`), silhouette and stability on fewer rows and
resamples (`fixed_evidence_plan`). Silhouette and the adjusted Rand index are computed by `metrics`.

The rule (`choose_k`):

1. *Stability is a guard.* Only the k whose stability is at least `STABILITY_MIN` (0.75) are
   candidates; when none is, every k is a candidate and the reason says stability is low.
2. *A vote.* Among the candidates, silhouette, Calinski–Harabasz and Davies–Bouldin (the scale-free
   criteria) each give one vote to the k they prefer; the elbow's knee gives half a vote, so it can
   break a tie between the others but never wins alone against one of them. `preferred` reports each
   scale-free criterion's choice among the candidates (the reason names any k set aside as
   unstable), the elbow's knee, and the most stable k.
3. *Ties* go to the k with the best mean rank across the three scale-free criteria, then to the
   smaller k.

`disagreement` is True when the three scale-free criteria do not all prefer the same k (the knee
alone differing is said in the reason but is no disagreement: the elbow is known to be unreliable).

*Is there structure at all?* (`structure_gain`) Every criterion above ranks k against other k; none
says whether the data has segments in the first place (uniform noise gets a k with "all criteria
agree"). The fitted k is compared with a reference without structure, as in the gap statistic
(Tibshirani, Walther & Hastie 2001): `STRUCTURE_REFERENCES` draws from the uniform box aligned with
the data's principal axes, same size and spread, each fitted with the same k. The *gain* is
log(T/W) of the data minus its mean over the references (T: total sum of squares, W: within-segment
sum of squares), i.e. how much better k segments summarise the data than they would summarise
structureless data of the same shape. A gain of at least `STRUCTURE_GAIN_MIN` (0.10: the segments
leave ≥ 10 % less spread than on the reference) is `clear` structure, below it `weak`. Measured on
generated shapes (see `segmentation/tests/ml/test_structure.py`): uniform noise in 2–20 dimensions
and single Gaussian or log-normal blobs score ≤ 0.06, Mall (k = 5) 0.25, separated Gaussian
clusters 0.3–3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from kneed import KneeLocator
from sklearn import config_context
from sklearn.cluster import KMeans
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from sklearn.metrics.pairwise import euclidean_distances
from threadpoolctl import threadpool_limits

from segmentation.ml.metrics import adjusted_rand, silhouette_many
from segmentation.ml.types import KEvidence

STABILITY_MIN = 0.75
STRUCTURE_GAIN_MIN = 0.10
STRUCTURE_REFERENCES = 5
STRUCTURE_SAMPLE = 3_000
STRUCTURE_FIT_INITS = 2
STABILITY_FIT_INITS = 3
FIXED_STABILITY_RESAMPLES = 5
FIXED_EVIDENCE_ROWS = 5_000
# Up to this many rows the many small fits run single-threaded: OpenMP threads cost more than they
# bring on small matrices, and far more on a busy machine (spinning threads compete for the cores).
SINGLE_THREAD_ROWS = 100_000
# Chunk size of pairwise distances in scikit-learn's metrics: small chunks keep the peak memory low.
WORKING_MEMORY_MB = 64

SCALE_FREE = (("silhouette", True), ("calinski_harabasz", True), ("davies_bouldin", False))
CRITERIA_LABELS = {
    "silhouette": "silhouette",
    "calinski_harabasz": "Calinski–Harabasz",
    "davies_bouldin": "Davies–Bouldin",
    "elbow": "the elbow",
    "stability": "stability",
}


@dataclass
class Choice:
    k: int
    preferred: dict[str, int]
    disagreement: bool
    reason: str


def starts_for(k: int, n_init: int) -> int:
    """k-means++ starts for a fit with k segments: `n_init`, and at least k as k grows.

    With many segments a start more often merges two true groups and splits another; measured on 50
    planted Gaussian clusters, n_init = 10 missed one in 6 of 10 seeds and auto-k chose 49, while
    50 starts found all 50 (issue 10). Up to k = `n_init` (the default range 2–10) nothing changes.
    """
    return max(int(n_init), int(k))


def fixed_evidence_plan(k: int, n_init: int, resamples: int, silhouette_sample: int) -> tuple[int, int, int]:
    """Sample rows (silhouette and stability), stability resamples and starts per resample for a fixed k's
    evidence (`KSelector.measure`, a fixed k above the sampling threshold).

    That evidence only describes the run (there is no vote), so it is measured more cheaply than when
    choosing k: on at most `FIXED_EVIDENCE_ROWS` rows (the mean silhouette of 5,000 points is within about
    0.005 of that of 10,000) and `FIXED_STABILITY_RESAMPLES` resamples, of `STABILITY_FIT_INITS` starts up
    to k = `n_init` and of one start above it, where those fits would cost more than the final fit itself.
    """
    rows = min(silhouette_sample, FIXED_EVIDENCE_ROWS)
    return rows, min(resamples, FIXED_STABILITY_RESAMPLES), (1 if k > n_init else STABILITY_FIT_INITS)


def sample_indices(n: int, size: int, random_state: int) -> np.ndarray:
    """A sorted fixed-seed sample of `size` row positions out of `n` (all of them when n <= size)."""
    if n <= size:
        return np.arange(n)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=size, replace=False))


class KSelector:
    """Measures every criterion for every k; learned state: `evidence_`, `models_`, `knee_`."""

    def __init__(
        self,
        *,
        k_min: int = 2,
        k_max: int = 10,
        n_init: int = 10,
        silhouette_sample: int = 10_000,
        stability_resamples: int = 10,
        random_state: int = 42,
        starts: int | None = None,
    ) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.n_init = n_init
        self.silhouette_sample = silhouette_sample
        self.stability_resamples = stability_resamples
        self.random_state = random_state
        self.starts = starts  # k-means++ starts per k; None: `starts_for(k, n_init)`

    def fit(self, x: np.ndarray, *, progress=None) -> KSelector:
        threads = 1 if len(x) <= SINGLE_THREAD_ROWS else None
        with threadpool_limits(limits=threads), config_context(working_memory=WORKING_MEMORY_MB):
            return self._fit(x, progress=progress)

    def _fit(self, x: np.ndarray, *, progress=None) -> KSelector:
        ks = list(range(self.k_min, self.k_max + 1))
        sil_idx = sample_indices(len(x), self.silhouette_sample, self.random_state)
        x_sil = x[sil_idx]
        self.models_: dict[int, KMeans] = {}
        partial: dict[int, dict] = {}
        sil_labelings: dict[int, np.ndarray] = {}
        for i, k in enumerate(ks):
            km = KMeans(
                n_clusters=k,
                init="k-means++",
                n_init=self.starts or starts_for(k, self.n_init),
                random_state=self.random_state,
            ).fit(x)
            self.models_[k] = km
            labels = km.labels_
            ch = db = None
            if 2 <= len(np.unique(labels)) < len(x):
                ch = float(calinski_harabasz_score(x, labels))
                db = float(davies_bouldin_score(x, labels))
                sil_labels = labels[sil_idx]
                if 2 <= len(np.unique(sil_labels)) < len(x_sil):
                    sil_labelings[k] = sil_labels
            partial[k] = {"inertia": float(km.inertia_), "ch": ch, "db": db, "stab": self._stability(x_sil, k)}
            if progress:
                progress(k, 0.9 * (i + 1) / len(ks))
        silhouettes = silhouette_many(x_sil, sil_labelings)
        if progress:
            progress(ks[-1], 1.0)
        self.evidence_: list[KEvidence] = [
            KEvidence(
                k=k,
                inertia=partial[k]["inertia"],
                silhouette=silhouettes.get(k),
                calinski_harabasz=partial[k]["ch"],
                davies_bouldin=partial[k]["db"],
                stability=partial[k]["stab"],
            )
            for k in ks
        ]
        self.knee_ = find_knee([e.k for e in self.evidence_], [e.inertia for e in self.evidence_])
        return self

    def measure(self, x: np.ndarray, centroids: np.ndarray) -> KEvidence:
        """The evidence of one given fit (a fixed k): its `centroids` predict `x`, no fit of its own.

        Inertia, Calinski–Harabasz and Davies–Bouldin are measured on the labels the centroids give `x`;
        silhouette and stability on a fixed-seed sample of it, as planned by `fixed_evidence_plan`.
        """
        threads = 1 if len(x) <= SINGLE_THREAD_ROWS else None
        with threadpool_limits(limits=threads), config_context(working_memory=WORKING_MEMORY_MB):
            k = len(centroids)
            d2 = euclidean_distances(x, centroids, squared=True)
            labels = d2.argmin(axis=1)
            inertia = float(d2[np.arange(len(x)), labels].sum())
            plan = fixed_evidence_plan(k, self.n_init, self.stability_resamples, self.silhouette_sample)
            rows, resamples, inits = plan
            sil_idx = sample_indices(len(x), rows, self.random_state)
            x_sil = x[sil_idx]
            ch = db = sil = None
            if 2 <= len(np.unique(labels)) < len(x):
                ch = float(calinski_harabasz_score(x, labels))
                db = float(davies_bouldin_score(x, labels))
                sil_labels = labels[sil_idx]
                if 2 <= len(np.unique(sil_labels)) < len(x_sil):
                    sil = silhouette_many(x_sil, {k: sil_labels}).get(k)
            stab = self._stability(x_sil, k, resamples=resamples, inits=inits)
        return KEvidence(k=k, inertia=inertia, silhouette=sil, calinski_harabasz=ch, davies_bouldin=db, stability=stab)

    def _stability(self, x_eval: np.ndarray, k: int, *, resamples: int | None = None, inits: int = 0) -> float | None:
        resamples = self.stability_resamples if resamples is None else resamples
        if resamples < 2 or k < 2:
            return None
        rng = np.random.default_rng(self.random_state + 7919 * k)
        partitions = []
        for b in range(resamples):
            boot = x_eval[rng.integers(0, len(x_eval), size=len(x_eval))]
            if len(np.unique(boot, axis=0)) < k:
                return None
            km = KMeans(
                n_clusters=k, init="k-means++", n_init=inits or STABILITY_FIT_INITS, random_state=self.random_state + b
            ).fit(boot)
            partitions.append(km.predict(x_eval))
        scores = [
            adjusted_rand(partitions[i], partitions[j])
            for i in range(len(partitions))
            for j in range(i + 1, len(partitions))
        ]
        return float(np.mean(scores))


def structure_gain(x: np.ndarray, centroids: np.ndarray, *, random_state: int) -> float | None:
    """How much better the fitted `centroids` summarise `x` than the same k on structureless data.

    log(T/W) of `x` (a fixed-seed sample of at most `STRUCTURE_SAMPLE` rows, W against `centroids`)
    minus its mean over `STRUCTURE_REFERENCES` uniform draws in the box of the sample's principal
    axes, each fitted with k-means++ (module docstring). None when it cannot be measured (fewer
    rows than 2k, or no spread).
    """
    k = len(centroids)
    if k < 2 or len(x) < 2 * k:
        return None
    rng = np.random.default_rng(random_state + 104_729)
    xs = x[sample_indices(len(x), STRUCTURE_SAMPLE, random_state)]
    centred = xs - xs.mean(axis=0)
    total = float((centred**2).sum())
    within = float(euclidean_distances(xs, centroids, squared=True).min(axis=1).sum())
    if total <= 0 or within <= 0:
        return None
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    z = centred @ vt.T
    lo, hi = z.min(axis=0), z.max(axis=0)
    gains = []
    with threadpool_limits(limits=1):  # small fits: threads cost more than they bring
        for b in range(STRUCTURE_REFERENCES):
            ref = rng.uniform(lo, hi, size=z.shape)
            ref_total = float(((ref - ref.mean(axis=0)) ** 2).sum())
            km = KMeans(n_clusters=k, init="k-means++", n_init=STRUCTURE_FIT_INITS, random_state=random_state + b)
            gains.append(np.log(ref_total / max(float(km.fit(ref).inertia_), 1e-300)))
    return float(np.log(total / within) - np.mean(gains))


def structure_of(gain: float | None) -> str:
    """`clear` or `weak` (module docstring); unmeasured counts as clear (nothing to say against it)."""
    return "weak" if gain is not None and gain < STRUCTURE_GAIN_MIN else "clear"


def structure_note(gain: float | None, k: int) -> str:
    """The sentence the reason gets when the structure is weak ("" when it is clear)."""
    if structure_of(gain) == "clear":
        return ""
    less = max(0.0, 1.0 - float(np.exp(-gain)))
    return (
        f"No clear structure: {k} segments leave {less:.0%} less spread than the same k on structureless data "
        f"of the same shape (a clear structure leaves at least {1 - np.exp(-STRUCTURE_GAIN_MIN):.0%} less), "
        "so this k is a way to cut the data, not groups the data has"
    )


def find_knee(ks: list[int], inertias: list[float]) -> int | None:
    """Kneedle's knee of a decreasing convex inertia curve, None when there is none."""
    if len(ks) < 3 or not np.all(np.isfinite(inertias)) or max(inertias) == min(inertias):
        return None
    try:
        knee = KneeLocator(ks, inertias, curve="convex", direction="decreasing").knee
    except (ValueError, ZeroDivisionError):  # degenerate curves (flat, NaN)
        return None
    return None if knee is None else int(knee)


def _best(evidence: list[KEvidence], attr: str, *, higher: bool) -> int | None:
    scored = [(getattr(e, attr), e.k) for e in evidence if getattr(e, attr) is not None]
    if not scored:
        return None
    best = max(v for v, _ in scored) if higher else min(v for v, _ in scored)
    return min(k for v, k in scored if v == best)  # ties to the smaller k


def _ranks(evidence: list[KEvidence]) -> dict[int, float]:
    """Mean rank (1 = best) of each k across the scale-free criteria."""
    total: dict[int, list[int]] = {e.k: [] for e in evidence}
    for attr, higher in (("silhouette", True), ("calinski_harabasz", True), ("davies_bouldin", False)):
        scored = [(getattr(e, attr), e.k) for e in evidence if getattr(e, attr) is not None]
        scored.sort(key=lambda t: (-t[0] if higher else t[0], t[1]))
        for rank, (_, k) in enumerate(scored, start=1):
            total[k].append(rank)
    worst = len(evidence) + 1
    return {k: (float(np.mean(r)) if r else float(worst)) for k, r in total.items()}


def choose_k(evidence: list[KEvidence], knee: int | None) -> Choice:
    """The documented vote (module docstring) over the evidence of every k."""
    stable = [e for e in evidence if e.stability is not None and e.stability >= STABILITY_MIN]
    has_stability = any(e.stability is not None for e in evidence)
    candidates = stable if stable else list(evidence)
    cand_ks = {e.k for e in candidates}

    preferred: dict[str, int] = {}
    unguarded: dict[str, int] = {}
    for name, higher in SCALE_FREE:
        k = _best(candidates, name, higher=higher)
        if k is not None:
            preferred[name] = k
        k_all = _best(evidence, name, higher=higher)
        if k_all is not None and k_all != k:
            unguarded[name] = k_all
    if knee is not None:
        preferred["elbow"] = knee
    k_stab = _best(evidence, "stability", higher=True)
    if k_stab is not None:
        preferred["stability"] = k_stab

    votes: dict[int, float] = {k: 0.0 for k in cand_ks}
    voices: dict[int, list[str]] = {k: [] for k in cand_ks}
    for name, _higher in SCALE_FREE:
        if name in preferred:
            votes[preferred[name]] += 1.0
            voices[preferred[name]].append(CRITERIA_LABELS[name])
    if knee is not None and knee in cand_ks:
        votes[knee] += 0.5
    ranks = _ranks(candidates)
    chosen = min(cand_ks, key=lambda k: (-votes[k], ranks[k], k))

    scale_free = [preferred[name] for name, _ in SCALE_FREE if name in preferred]
    disagreement = len(set(scale_free)) > 1

    parts: list[str] = []
    if voices[chosen]:
        parts.append(f"preferred by {_join(voices[chosen])}")
    else:
        parts.append("best mean rank across silhouette, Calinski–Harabasz and Davies–Bouldin")
    if knee is None:
        parts.append("the inertia curve has no clear elbow")
    elif knee == chosen:
        parts.append(f"the elbow's knee is also at {knee}")
    else:
        parts.append(f"the elbow's knee is at {knee}")
    chosen_ev = next(e for e in evidence if e.k == chosen)
    if chosen_ev.stability is not None:
        parts.append(f"stability {chosen_ev.stability:.2f}")
    reason = f"k = {chosen}: " + "; ".join(parts)
    if disagreement:
        others = ", ".join(
            f"{CRITERIA_LABELS[name]} prefers {preferred[name]}" for name, _ in SCALE_FREE if name in preferred
        )
        reason += f". The criteria disagree ({others}); k = {chosen} won the vote"
    if stable and unguarded:
        by_k = {e.k: e for e in evidence}
        reason += f". Set aside as unstable (stability below {STABILITY_MIN:.2f}): " + ", ".join(
            f"{CRITERIA_LABELS[name]}'s k = {k} ({CRITERIA_LABELS[name]} {getattr(by_k[k], name):.2f} there against "
            f"{_fmt(getattr(by_k[chosen], name))} at k = {chosen}; stability {by_k[k].stability:.2f})"
            for name, k in unguarded.items()
        )
    if has_stability and not stable:
        reason += f". No k reached stability {STABILITY_MIN:.2f}: the segments are not well separated"
    return Choice(k=chosen, preferred=preferred, disagreement=disagreement, reason=reason + ".")


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
