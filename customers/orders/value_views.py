"""The lifetime-value page: the latest fit and its validation, the stored values at a glance, the history,
and "Fit now" (Admins: `customers.add_valuefit`) which queues a fit for the worker; its status is polled.

Everyone with `customers.view_valuefit` (every role) sees the page; only Admins may start a fit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from customers import charts
from customers.orders.value_models import ValueFit
from customers.orders.value_selectors import (
    purchase_days,
    value_distribution,
    value_fit_history,
    value_fit_latest,
    value_fit_pending,
)
from customers.orders.value_service import value_fit_request
from segmentation.ml.errors import EngineInputError

can_view = permission_required("customers.view_valuefit", raise_exception=True)
can_fit = permission_required("customers.add_valuefit", raise_exception=True)


class ValueFitForm(forms.Form):
    calibration_end = forms.DateField(
        required=False,
        label="Calibration ends",
        help_text="The models learn from purchases up to this day (empty: the last order day).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    holdout_end = forms.DateField(
        required=False,
        label="Holdout ends",
        help_text="Purchases after the calibration up to this day check the predictions (empty: no check).",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    horizon_weeks = forms.IntegerField(
        min_value=1, max_value=520, initial=52, label="Horizon (weeks)", help_text="Expected value over this horizon."
    )

    def clean(self):
        data = super().clean()
        cal, hold = data.get("calibration_end"), data.get("holdout_end")
        if hold and not cal:
            self.add_error("calibration_end", "Give the calibration end when giving a holdout end.")
        if cal and hold and hold <= cal:
            self.add_error("holdout_end", f"Must be after the calibration end {cal}; got {hold}.")
        return data


def suggested_windows(first: dt.date | None, last: dt.date | None) -> dict[str, Any]:
    """Calibration on the first three quarters of the order history, the last quarter as the holdout."""
    if not first or not last or (last - first).days < 28:
        return {"horizon_weeks": 52}
    holdout_days = max(7, (last - first).days // 4)
    return {"calibration_end": last - dt.timedelta(days=holdout_days), "holdout_end": last, "horizon_weeks": 52}


STATUS_WORDS = {
    "ok": (
        "The models fit",
        "Customers buy at their own rates and some stop buying; P(active) says who is probably still a customer.",
    ),
    "boundary": (
        "On a boundary: no measurable dropout",
        "The data do not show customers leaving, so the model cannot tell who has stopped buying. Everyone counts "
        "as still active (P(active) = 1) and expected purchases come from each customer's own purchase rate (the "
        "NBD model without dropout). For marketing: expected value still ranks customers by what they will "
        "probably spend; to find lapsing customers use recency (days since the last order), not P(active).",
    ),
    "failed": (
        "The fit failed",
        "No reliable model: the stored predictions (if any) come from the NBD model without dropout, or from an "
        "earlier fit. Import more orders or choose other windows and fit again.",
    ),
}


def _num(value) -> float | None:
    return None if value is None else float(value)


def _p(value: float) -> str:
    """A parameter to 3 decimals, or in scientific notation when that would print 0.000 (a -> 0)."""
    return f"{value:.3f}" if value == 0 or abs(value) >= 0.001 else f"{value:.2e}"


def parameters_explained(fit: ValueFit) -> list[dict[str, str]]:
    """Each model's parameters with what they mean for a marketer (from the stored report)."""
    params = fit.params or {}
    rows = []
    bg = params.get("bgnbd") or {}
    r, alpha, a, b = (_num(bg.get(k)) for k in ("r", "alpha", "a", "b"))
    if r and alpha:
        rows.append(
            {
                "model": "BG/NBD purchases",
                "params": f"r = {r:.3f}, α = {alpha:.3f}",
                "meaning": f"Purchase rates vary across customers (Gamma): on average {r / alpha:.3f} repeat "
                f"purchases a week ({52 * r / alpha:.1f} a year) while active; the smaller r, the more they differ.",
            }
        )
    if a is not None and b is not None:
        rows.append(
            {
                "model": "BG/NBD dropout",
                "params": f"a = {_p(a)}, b = {_p(b)}",
                "meaning": "After each purchase a customer leaves with probability "
                f"{_p(100 * a / (a + b))} % on average (Beta(a, b))."
                + (" Not used: the fit is not ok." if fit.status != "ok" else ""),
            }
        )
    nbd = params.get("nbd") or {}
    if nbd.get("r") and nbd.get("alpha"):
        rows.append(
            {
                "model": "NBD fallback (no dropout)",
                "params": f"r = {nbd['r']:.3f}, α = {nbd['alpha']:.3f}",
                "meaning": f"Used for the predictions: {nbd['r'] / nbd['alpha']:.3f} purchases a week on average, "
                "nobody leaves.",
            }
        )
    test = params.get("dropout_test") or {}
    if test.get("statistic") is not None:
        rows.append(
            {
                "model": "Dropout test",
                "params": f"LR = {test['statistic']:.2f}, p = {test['p_value']:.3g}",
                "meaning": "Likelihood ratio of BG/NBD against the same model without dropout; p below 0.05 means "
                "the data show customers leaving.",
            }
        )
    gg = params.get("gamma_gamma") or {}
    p, q, gamma = (_num(gg.get(k)) for k in ("p", "q", "gamma"))
    if p and q and gamma:
        mean = f"{p * gamma / (q - 1):,.2f}" if q > 1 else "not defined (q ≤ 1)"
        rows.append(
            {
                "model": "Gamma-Gamma spend",
                "params": f"p = {p:.3f}, q = {q:.3f}, γ = {gamma:.3f}",
                "meaning": f"Spend per purchase varies around {mean} across customers; a customer's own average is "
                f"trusted more the more often they bought ({gg.get('n_customers', 0):,} repeat customers fitted).",
            }
        )
    pn = params.get("pareto_nbd") or {}
    if pn.get("r") is not None and pn.get("s") is not None:
        rows.append(
            {
                "model": "Pareto/NBD (comparison)",
                "params": f"r = {pn['r']:.3f}, α = {pn['alpha']:.3f}, s = {pn['s']:.3f}, β = {pn['beta']:.3f}",
                "meaning": "Dropout at any time rather than after a purchase; shown for comparison only.",
            }
        )
    return rows


def holdout_rows(holdout: dict | None) -> list[dict[str, Any]]:
    if not holdout:
        return []

    def off(value) -> str:
        return "—" if value is None else f"{value:+.0%}"

    return [
        {"what": "Actual", "total": holdout["actual"], "error": "", "mae": None},
        {
            "what": "Model",
            "total": holdout["predicted"],
            "error": off(holdout.get("error")),
            "mae": holdout["mae"],
        },
        {
            "what": "Naive rate (more of the same)",
            "total": holdout["naive"],
            "error": off(holdout.get("naive_error")),
            "mae": holdout["mae_naive"],
        },
    ]


@require_GET
@login_required
@can_view
def value_page(request):
    fit = value_fit_latest()
    pending = value_fit_pending()
    first, last = purchase_days()
    context: dict[str, Any] = {
        "fit": fit,
        "pending": pending,
        "history": value_fit_history(),
        "first_day": first,
        "last_day": last,
        "can_fit": request.user.has_perm("customers.add_valuefit"),
        "form": ValueFitForm(initial=suggested_windows(first, last)),
    }
    if fit is not None:
        words = STATUS_WORDS.get(fit.status, ("", ""))
        context.update(
            status_title=words[0],
            status_text=words[1],
            parameters=parameters_explained(fit),
            holdout_rows=holdout_rows(fit.holdout),
            holdout_chart="",
        )
        groups = (fit.holdout or {}).get("by_frequency") or []
        if groups:
            model = "BG/NBD" if fit.status == "ok" else "NBD fallback"
            context["holdout_chart"] = charts.figure_html(
                charts.holdout_frequency_figure(groups=groups, model=model), div_id=charts.VALUE_HOLDOUT_DIV_ID
            )
    dist = value_distribution()
    context["distribution"] = dist
    if dist.customers:
        context["p_alive_chart"] = charts.figure_html(
            charts.histogram_figure(
                title="P(active): probability each customer still buys",
                axis_title="P(active)",
                edges=dist.p_alive_edges,
                counts=dist.p_alive_counts,
            ),
            div_id=charts.VALUE_P_ALIVE_DIV_ID,
        )
        if dist.value_counts:
            context["value_chart"] = charts.figure_html(
                charts.binned_figure(
                    title="Expected value over the horizon",
                    axis_title="Expected value (log-spaced bins)",
                    edges=dist.value_edges,
                    counts=dist.value_counts,
                ),
                div_id=charts.VALUE_EXPECTED_DIV_ID,
            )
    return render(request, "customers/orders/value.html", context)


@require_POST
@login_required
@can_fit
def value_fit_now(request):
    form = ValueFitForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        messages.error(request, f"Not fitted: {errors}")
        return redirect("customers:value")
    try:
        fit = value_fit_request(actor=request.user, **form.cleaned_data)
    except EngineInputError as exc:
        messages.error(request, f"Not fitted: {exc}")
        return redirect("customers:value")
    if fit.created_by_id != request.user.pk or fit.status != "queued":
        messages.info(
            request, f"A fit is already {fit.get_status_display().lower()} (#{fit.pk}); this page follows it."
        )
    else:
        messages.success(request, f"Fit #{fit.pk} queued: the worker fits the models; this page follows it.")
    return redirect("customers:value")


@require_GET
@login_required
@can_view
def value_status(request):
    """The pending fit's status for the page's polling (done: the page reloads)."""
    pending = value_fit_pending()
    if pending is None:
        latest = value_fit_latest()
        # "succeeded" / "failed" are the finished states static/js/run-status.js reloads the page on
        status = "failed" if latest is not None and latest.status == "failed" else "succeeded"
        return JsonResponse({"pending": False, "done": True, "status": status, "fit": latest.pk if latest else None})
    return JsonResponse(
        {
            "pending": True,
            "done": False,
            "fit": pending.pk,
            "status": pending.status,
            "stage": pending.stage,
            "progress": pending.progress,
        }
    )
