"""One recommendation run: choose hyper-parameters on a validation window, evaluate on the holdout, serve.

1. The last ``holdout_days`` (or everything from ``holdout_from``) are the holdout; the rest is training.
2. The last ``validation_days`` of training (as long as the holdout unless given) are the validation
   window: every candidate setting is fitted on what precedes it and scored on it. The best setting
   of each model is kept (by NDCG@10); the holdout is never used for a choice of parameters.
3. Each model with its chosen setting is fitted on the whole training period and evaluated on the
   holdout: overall, per segment and for customers with one prior order, beside popularity.
4. The served model is the best on the holdout among those that beat popularity (popularity when
   none does), refitted on all the data; it scores every customer. Customers with too little history
   get their segment's (or the global) popularity, and each list says why.

Evaluated customers of a window: present in the training matrix and buying in the window at least
one product they never bought before; those new products are the relevant ones.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from segmentation.ml.errors import EngineInputError
from segmentation.ml.recommend import metrics as rank_metrics
from segmentation.ml.recommend.interactions import Interactions, build_interactions, split_by_date
from segmentation.ml.recommend.models import (
    ALS,
    Blend,
    ItemKNN,
    Popularity,
    Recommender,
    SegmentPopularity,
    top_n,
)
from segmentation.ml.recommend.serving import segment_labels, segment_lift, served_lists

MODELS = ("popularity", "segment_popularity", "item_knn", "als", "blend")
REASONS = ("bought_with", "segment_popular", "popular")


@dataclass(frozen=True)
class RecommendConfig:
    n: int = 10
    holdout_days: int = 30
    holdout_from: str | None = None  # ISO date; overrides holdout_days
    validation_days: int | None = None  # default: the holdout's length
    exclude_bought: bool = True
    models: tuple[str, ...] = MODELS
    recent_days_grid: tuple[int | None, ...] = (30, 90, None)
    neighbours_grid: tuple[int, ...] = (50, 200)
    als_grid: tuple[tuple[float, str], ...] = ((1.0, "binary"), (5.0, "binary"), (1.0, "log"))  # (alpha, weighting)
    factors: int = 64
    regularization: float = 0.05
    iterations: int = 15
    blend_weights: tuple[float, ...] = (0.2, 0.4, 0.5, 0.6, 0.7, 0.8)
    cold_start_below: int = 1  # customers with fewer purchase days than this get popularity
    min_segment_members: int = 20
    random_state: int = 0
    num_threads: int | None = None

    def __post_init__(self):
        unknown = [m for m in self.models if m not in MODELS]
        if unknown or "popularity" not in self.models:
            raise EngineInputError(f"models: expected popularity and any of {', '.join(MODELS)}, got {self.models}")
        if self.n < 1 or self.holdout_days < 1:
            raise EngineInputError(f"n and holdout_days must be at least 1, got {self.n} and {self.holdout_days}")


@dataclass
class Window:
    """Training interactions and the customers evaluated on the window that follows."""

    train: Interactions
    rows: np.ndarray  # evaluated rows of the training matrix
    relevant: sparse.csr_matrix  # (len(rows) x products) new products bought in the window
    one_prior_order: np.ndarray  # bool per evaluated row
    segments: np.ndarray  # segment label per training row ("" = none)
    start: str
    end: str


@dataclass
class RecommendResult:
    ok: bool
    reason: str
    served: str = "popularity"
    served_reason: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    validation: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    holdout: dict[str, Any] = field(default_factory=dict)
    customers: int = 0
    products: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    recommendations: pd.DataFrame | None = None  # customer, rank, product, score, reason, reason_product
    segment_products: pd.DataFrame | None = None  # segment, product, buyers, share, base_share, lift

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("recommendations")
        out.pop("segment_products")
        return out


def order_counts(frame: pd.DataFrame, customers: np.ndarray) -> np.ndarray:
    """Distinct orders per customer (distinct purchase days when the frame has no order id)."""
    key = frame["order"] if "order" in frame.columns else pd.to_datetime(frame["date"]).dt.normalize()
    counts = pd.DataFrame({"c": frame["customer"], "k": key}).groupby("c")["k"].nunique()
    return counts.reindex(customers).fillna(0).to_numpy(dtype=np.int64)


def make_window(before: pd.DataFrame, after: pd.DataFrame, segments, start, end) -> Window:
    train = build_interactions(before)
    future = build_interactions(after, customers=train.customers, products=train.products)
    new = future.binary() - future.binary().multiply(train.binary())
    new.eliminate_zeros()
    new = new.tocsr()
    rows = np.flatnonzero(np.diff(new.indptr) > 0)
    prior = order_counts(before, train.customers)
    return Window(
        train=train,
        rows=rows,
        relevant=new[rows],
        one_prior_order=prior[rows] == 1,
        segments=segment_labels(train.customers, segments),
        start=str(start),
        end=str(end),
    )


def build_model(name: str, params: Mapping[str, Any], config: RecommendConfig, fitted: dict) -> Recommender:
    if name == "popularity":
        return Popularity(params.get("recent_days"))
    if name == "segment_popularity":
        return SegmentPopularity(None, params.get("recent_days"), config.min_segment_members)
    if name == "item_knn":
        return ItemKNN(params.get("neighbours", 100))
    if name == "als":
        return ALS(
            factors=config.factors,
            regularization=config.regularization,
            alpha=params.get("alpha", 1.0),
            iterations=config.iterations,
            weighting=params.get("weighting", "binary"),
            random_state=config.random_state,
            num_threads=config.num_threads,
        )
    if name == "blend":
        return Blend(fitted["als"], fitted["popularity"], params.get("weight", 0.5))
    raise EngineInputError(f"unknown model {name!r}")


def fit_model(model: Recommender, train: Interactions, segments: np.ndarray) -> Recommender:
    if isinstance(model, SegmentPopularity):
        model.segments = segments
    return model.fit(train)


def evaluate(model: Recommender, window: Window, config: RecommendConfig, *, breakdown: bool) -> dict[str, Any]:
    items, _ = top_n(model, window.train, window.rows, config.n, exclude_bought=config.exclude_bought)
    n_products = window.train.shape[1]
    out = rank_metrics.summarise(items, window.relevant, n_products, config.n)
    if breakdown:
        one = window.one_prior_order
        out["one_prior_order"] = rank_metrics.summarise(items[one], window.relevant[one], n_products, config.n)
        labels = window.segments[window.rows]
        per_segment = {}
        for label in sorted(set(labels) - {""}):
            mask = labels == label
            per_segment[label] = rank_metrics.summarise(items[mask], window.relevant[mask], n_products, config.n)
        out["per_segment"] = per_segment
    return out


def candidates(name: str, config: RecommendConfig, chosen: dict) -> list[dict[str, Any]]:
    if name in ("popularity", "segment_popularity"):
        return [{"recent_days": d} for d in config.recent_days_grid]
    if name == "item_knn":
        return [{"neighbours": k} for k in config.neighbours_grid]
    if name == "als":
        return [{"alpha": a, "weighting": w} for a, w in config.als_grid]
    if name == "blend":
        return [{"weight": w} for w in config.blend_weights]
    return [{}]


def choose_params(window: Window, config: RecommendConfig) -> tuple[dict, dict, dict]:
    """Best setting of each model on the validation window (NDCG@10, then HitRate@10, then order given)."""
    chosen: dict[str, dict] = {}
    scores: dict[str, list] = {}
    fitted: dict[str, Recommender] = {}
    for name in [m for m in MODELS if m in config.models or (m in ("als", "popularity") and "blend" in config.models)]:
        best = None
        tried = []
        for params in candidates(name, config, chosen):
            model = fit_model(build_model(name, params, config, fitted), window.train, window.segments)
            result = evaluate(model, window, config, breakdown=False)
            tried.append(
                {"params": params, "ndcg_at_10": result["ndcg_at_10"], "hit_rate_at_10": result["hit_rate_at_10"]}
            )
            key = (result["ndcg_at_10"], result["hit_rate_at_10"])
            if best is None or key > best[0]:
                best = (key, params, model)
        chosen[name] = best[1]
        fitted[name] = best[2]
        scores[name] = tried
    return chosen, scores, fitted


def holdout_start(frame: pd.DataFrame, config: RecommendConfig) -> pd.Timestamp:
    dates = pd.to_datetime(frame["date"])
    if config.holdout_from:
        start = pd.Timestamp(config.holdout_from)
        if dates.dt.tz is not None and start.tz is None:
            start = start.tz_localize(dates.dt.tz)
        return start
    last = dates.max().normalize() + pd.Timedelta(days=1)
    return last - pd.Timedelta(days=config.holdout_days)


def serve_reason(served: str, metrics: dict, baseline: float) -> str:
    if served == "popularity":
        return (
            f"No model beat popularity on the holdout (NDCG@10 {baseline:.3f}), so popularity is served."
            if len(metrics) > 1
            else "Only popularity was evaluated."
        )
    m = metrics[served]
    return (
        f"{served} has the best NDCG@10 on the holdout ({m['ndcg_at_10']:.3f}, HitRate@10 "
        f"{m['hit_rate_at_10']:.3f}) and beats popularity ({baseline:.3f}); it was refitted on all the data."
    )


def recommend(
    frame: pd.DataFrame,
    *,
    segments: Mapping | pd.Series | None = None,
    customers: Sequence | None = None,
    config: RecommendConfig | None = None,
) -> RecommendResult:
    """The whole run on cleaned purchase lines (`interactions.clean_order_lines`).

    ``segments`` maps customer -> segment label (the active segmentation); ``customers`` lists every
    customer to recommend for (default: those with purchases): customers without purchases get cold
    start lists.
    """
    config = config or RecommendConfig()
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    if frame.empty:
        return RecommendResult(False, "No purchases to learn from: import order lines first.")
    start = holdout_start(frame, config)
    before, after = split_by_date(frame, start)
    if before.empty or after.empty:
        return RecommendResult(False, f"The holdout from {start.date()} leaves no training or no holdout purchases.")
    hold_len = (pd.to_datetime(after["date"]).max().normalize() - start.normalize()).days + 1
    val_days = config.validation_days or max(hold_len, 1)
    val_start = start - pd.Timedelta(days=val_days)
    fit_part, val_part = split_by_date(before, val_start)
    if fit_part.empty or val_part.empty:
        return RecommendResult(False, f"The validation window from {val_start.date()} leaves no purchases to fit on.")
    val_window = make_window(fit_part, val_part, segments, val_start.date(), start.date())
    hold_window = make_window(before, after, segments, start.date(), pd.to_datetime(after["date"]).max().date())
    if len(val_window.rows) == 0 or len(hold_window.rows) == 0:
        return RecommendResult(False, "No customer bought a new product in the validation or holdout window.")
    timings["prepare"] = time.perf_counter() - clock

    clock = time.perf_counter()
    chosen, tried, _ = choose_params(val_window, config)
    timings["validation"] = time.perf_counter() - clock

    clock = time.perf_counter()
    fitted: dict[str, Recommender] = {}
    metrics: dict[str, dict] = {}
    for name in [m for m in MODELS if m in chosen]:
        fitted[name] = fit_model(
            build_model(name, chosen[name], config, fitted), hold_window.train, hold_window.segments
        )
        if name in config.models:
            metrics[name] = evaluate(fitted[name], hold_window, config, breakdown=True)
    timings["holdout"] = time.perf_counter() - clock

    baseline = metrics["popularity"]["ndcg_at_10"]
    better = [m for m in metrics if m != "popularity" and metrics[m]["ndcg_at_10"] > baseline]
    served = (
        max(better, key=lambda m: (metrics[m]["ndcg_at_10"], metrics[m]["hit_rate_at_10"])) if better else "popularity"
    )

    clock = time.perf_counter()
    full = build_interactions(frame)
    labels = segment_labels(full.customers, segments)
    refit: dict[str, Recommender] = {}
    needed = {"blend": ["popularity", "als", "blend"]}.get(served, [served])
    for name in dict.fromkeys(["popularity", "segment_popularity", *needed]):
        refit[name] = fit_model(build_model(name, chosen.get(name, {}), config, refit), full, labels)
    timings["fit"] = time.perf_counter() - clock

    clock = time.perf_counter()
    recs = served_lists(refit, served, full, labels, customers, segments, config)
    timings["recommend"] = time.perf_counter() - clock
    defining = segment_lift(full, labels) if segments is not None else None
    return RecommendResult(
        ok=True,
        reason="",
        served=served,
        served_reason=serve_reason(served, metrics, baseline),
        params=chosen,
        validation={"window": [val_window.start, val_window.end], "customers": len(val_window.rows), "tried": tried},
        metrics=metrics,
        holdout={"from": hold_window.start, "to": hold_window.end, "customers": len(hold_window.rows)},
        customers=int(recs["customer"].nunique()) if len(recs) else 0,
        products=int(full.shape[1]),
        timings={k: round(v, 3) for k, v in timings.items()},
        recommendations=recs,
        segment_products=defining,
    )
