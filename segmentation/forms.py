"""Forms of the insight pages: strategy edit, chart feature choice, run comparison; the segmentation editor."""

from __future__ import annotations

import json

from django import forms

from segmentation.ml.charts import feature_label
from segmentation.ml.config import K_MAX, K_MIN, MIN_SHARE_MAX, config_errors
from segmentation.ml.rfm import RFM_FEATURES, rfm_cuts_errors
from segmentation.models import (
    Method,
    MissingPolicy,
    OutlierPolicy,
    Scaler,
    Segmentation,
    Transform,
    default_age_bins,
)
from segmentation.services.strategies import STRATEGY_MAX_CHARS
from segmentation.validators import cron_schedule_validator


class StrategyForm(forms.Form):
    strategy = forms.CharField(
        label="Recommended strategy",
        max_length=STRATEGY_MAX_CHARS,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4, "aria-describedby": "strategy-help"}),
    )


class ChartAxesForm(forms.Form):
    """Features on the scatter plots' axes, chosen from the run's numeric features (GET; invalid -> defaults)."""

    x = forms.ChoiceField(label="2D: horizontal axis", required=False)
    y = forms.ChoiceField(label="2D: vertical axis", required=False)
    x3 = forms.ChoiceField(label="3D: x", required=False)
    y3 = forms.ChoiceField(label="3D: y", required=False)
    z3 = forms.ChoiceField(label="3D: z", required=False)

    def __init__(self, *args, features: list[str], defaults: dict[str, str], units: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.defaults = defaults
        choices = [(f, feature_label(f, units)) for f in features]
        for name in self.fields:
            self.fields[name].choices = choices
            self.fields[name].initial = defaults[name]

    def axes(self) -> tuple[dict[str, str], list[str]]:
        """The chosen axes (defaults for missing or invalid values) and a message per invalid value."""
        chosen = dict(self.defaults)
        problems = []
        self.is_valid()
        for name in self.fields:
            raw = self.data.get(name)
            if raw in (None, ""):
                continue
            if name in self.errors:
                allowed = ", ".join(v for v, _ in self.fields[name].choices)
                problems.append(
                    f"{name}: {raw!r} is not a feature of this run (allowed: {allowed}); showing {self.defaults[name]}"
                )
            else:
                chosen[name] = self.cleaned_data[name]
        return chosen, problems


class CompareForm(forms.Form):
    a = forms.IntegerField(label="Earlier run", min_value=1)
    b = forms.IntegerField(label="Later run", min_value=1)

    def clean(self):
        data = super().clean()
        if data.get("a") and data.get("a") == data.get("b"):
            raise forms.ValidationError("Choose two different runs.")
        return data


# -- the segmentation editor ---------------------------------------------------------------------------------

SAME_AS_DEFAULT = ""
# The engine's error keys -> the editor's fields (per-column transforms and scalers show at the column list).
EDITOR_ERROR_FIELDS = {
    "missing": "missing_policy",
    "missing_policy": "missing_policy",
    "min_share": "min_share_pct",
    "transforms": "features",
    "scalers": "features",
    "roles": "features",
    "units": "features",
}


class SegmentationForm(forms.Form):
    """The editor: name, columns with a transform and scaler each, k, policies, schedule.

    The configuration is checked by the engine's one validator (`config_errors`); its errors are
    shown next to the fields they name. `values()` gives the model fields for `segmentation_save`.
    """

    name = forms.CharField(label="Name", max_length=100, strip=True)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    method = forms.ChoiceField(
        label="Kind",
        choices=Method.choices,
        initial=Method.KMEANS,
        required=False,
        widget=forms.RadioSelect,
        help_text="RFM scores the derived recency, frequency and monetary columns (computed from the orders) "
        "and groups customers as Champions, Loyal, At risk…; the columns below are then ignored.",
    )
    rfm_cuts = forms.CharField(
        label="RFM cut points",
        required=False,
        help_text='Empty = quintiles. Four ascending numbers per column, JSON: {"frequency": [1, 2, 4, 8]}.',
    )
    features = forms.MultipleChoiceField(label="Columns", widget=forms.CheckboxSelectMultiple, required=False)
    scaler = forms.ChoiceField(label="Scaler (every column unless it says otherwise)", choices=Scaler.choices)
    transform = forms.ChoiceField(label="Transform (every column unless it says otherwise)", choices=Transform.choices)
    k_mode = forms.ChoiceField(
        label="Number of segments",
        choices=[("auto", "Automatic: chosen on evidence in a range"), ("fixed", "Fixed")],
        widget=forms.RadioSelect,
        initial="auto",
    )
    k = forms.IntegerField(label="Fixed k", required=False)
    k_min = forms.IntegerField(label="From k", initial=2)
    k_max = forms.IntegerField(label="to k", initial=10)
    min_share_pct = forms.FloatField(
        label="Smallest segment (% of members)",
        initial=2.0,
        help_text="Automatic k: a k that makes a segment smaller than this is no candidate.",
    )
    missing_policy = forms.ChoiceField(label="Missing values", choices=MissingPolicy.choices)
    outliers = forms.ChoiceField(label="Outliers", choices=OutlierPolicy.choices)
    age_groups = forms.BooleanField(label="Use age groups instead of age", required=False)
    age_bins = forms.CharField(
        label="Age groups start at",
        required=False,
        help_text="Lower edges, increasing: 18, 25, 35, 45, 55, 65 (the last group is open).",
    )
    schedule = forms.CharField(
        label="Schedule",
        required=False,
        max_length=64,
        validators=[cron_schedule_validator],
        help_text="Cron (minute hour day month weekday), e.g. “0 3 * * 1” = Mondays at 03:00; empty = none.",
    )

    def __init__(self, *args, columns: list, instance: Segmentation | None = None, **kwargs):
        self.instance = instance
        if instance is not None and not kwargs.get("initial"):
            kwargs["initial"] = self.initial_from(instance)
        super().__init__(*args, **kwargs)
        self.columns = columns
        self.fields["features"].choices = [(c.key, c.title) for c in columns]
        transform_choices = [(SAME_AS_DEFAULT, "as above"), *Transform.choices]
        scaler_choices = [(SAME_AS_DEFAULT, "as above"), *Scaler.choices]
        for c in columns:
            self.fields[f"transform__{c.key}"] = forms.ChoiceField(
                label=f"Transform of {c.label}", choices=transform_choices, required=False
            )
            self.fields[f"scaler__{c.key}"] = forms.ChoiceField(
                label=f"Scaler of {c.label}", choices=scaler_choices, required=False
            )

    @staticmethod
    def initial_from(segmentation: Segmentation) -> dict:
        initial = {
            "name": segmentation.name,
            "description": segmentation.description,
            "method": segmentation.method,
            "rfm_cuts": json.dumps(segmentation.rfm_cuts) if segmentation.rfm_cuts else "",
            "features": list(segmentation.features or []),
            "scaler": segmentation.scaler,
            "transform": segmentation.transform,
            "k_mode": "auto" if segmentation.k is None else "fixed",
            "k": segmentation.k,
            "k_min": segmentation.k_min,
            "k_max": segmentation.k_max,
            "min_share_pct": round(segmentation.min_share * 100, 4),
            "missing_policy": segmentation.missing_policy,
            "outliers": segmentation.outliers,
            "age_groups": segmentation.age_groups,
            "age_bins": ", ".join(str(b) for b in segmentation.age_bins or []),
            "schedule": segmentation.schedule,
        }
        for key, value in (segmentation.transforms or {}).items():
            initial[f"transform__{key}"] = value
        for key, value in (segmentation.scalers or {}).items():
            initial[f"scaler__{key}"] = value
        return initial

    def rows(self) -> list[dict]:
        """One row per column for the template: its stats, whether chosen, and its transform and scaler fields."""
        chosen = set(self["features"].value() or [])
        return [
            {
                "column": c,
                "chosen": c.key in chosen,
                "transform": self[f"transform__{c.key}"],
                "scaler": self[f"scaler__{c.key}"],
            }
            for c in self.columns
        ]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        others = Segmentation.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(f"a segmentation named {name!r} exists already; choose another name")
        return name

    def clean_age_bins(self) -> list[int] | None:
        raw = self.cleaned_data.get("age_bins", "").strip()
        if not raw:
            return None
        bins = []
        for part in raw.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(f"expected whole numbers separated by commas; got {part!r} in {raw!r}")
            bins.append(int(part))
        return bins

    def clean_min_share_pct(self) -> float:
        value = self.cleaned_data["min_share_pct"]
        if not 0 <= value <= MIN_SHARE_MAX * 100:
            raise forms.ValidationError(f"allowed is 0 to {MIN_SHARE_MAX * 100:g} %; got {value:g}")
        return value

    def clean_rfm_cuts(self) -> dict:
        raw = (self.cleaned_data.get("rfm_cuts") or "").strip()
        if not raw:
            return {}
        try:
            cuts = json.loads(raw)
        except ValueError:
            raise forms.ValidationError(f'expected JSON like {{"frequency": [1, 2, 4, 8]}}; got {raw!r}') from None
        errors = rfm_cuts_errors(cuts)
        if errors:
            raise forms.ValidationError(errors["rfm_cuts"])
        return cuts

    def clean(self):
        data = super().clean()
        if data.get("method") == Method.RFM:
            data["features"] = list(RFM_FEATURES)
            missing = [f for f in RFM_FEATURES if f not in {c.key for c in self.columns}]
            if missing:
                self.add_error(
                    "method",
                    f"RFM needs the columns {', '.join(missing)}: import order lines first",
                )
        elif not data.get("features") and "features" not in self.errors:
            self.add_error("features", "Choose at least one column.")
        if self.errors:
            return data
        if data.get("k_mode") == "fixed" and data.get("k") is None:
            self.add_error("k", f"a fixed k needs a number from {K_MIN} to {K_MAX}")
            return data
        self.add_config_errors(config_errors(self.config_values(), available=[c.key for c in self.columns]))
        return data

    def values(self) -> dict:
        """The model fields of the segmentation (for `segmentation_save`); call after `is_valid()`."""
        data = self.cleaned_data
        features = list(data.get("features") or [])
        fixed = data.get("k_mode") == "fixed"
        return {
            "name": data.get("name", ""),
            "description": data.get("description", ""),
            "method": data.get("method") or Method.KMEANS,
            "rfm_cuts": data.get("rfm_cuts") or {},
            "features": features,
            "scaler": data.get("scaler"),
            "scalers": {f: data[f"scaler__{f}"] for f in features if data.get(f"scaler__{f}")},
            "transform": data.get("transform"),
            "transforms": {f: data[f"transform__{f}"] for f in features if data.get(f"transform__{f}")},
            "k": data.get("k") if fixed else None,
            "k_min": data.get("k_min"),
            "k_max": data.get("k_max"),
            "missing_policy": data.get("missing_policy"),
            "min_share": round((data.get("min_share_pct") or 0) / 100, 6),
            "outliers": data.get("outliers"),
            "age_groups": bool(data.get("age_groups")),
            "age_bins": data.get("age_bins") or default_age_bins(),
            "schedule": data.get("schedule", ""),
        }

    def config_values(self) -> dict:
        """The engine configuration (`SegmentationConfig` names) of the values typed, saved or not."""
        v = self.values()
        random_state = self.instance.random_state if self.instance is not None else 42
        return {
            "features": v["features"],
            "scaler": v["scaler"],
            "scalers": v["scalers"],
            "k": v["k"],
            "k_min": v["k_min"],
            "k_max": v["k_max"],
            "age_groups": v["age_groups"],
            "age_bins": v["age_bins"],
            "missing": v["missing_policy"],
            "random_state": random_state,
            "transform": v["transform"],
            "transforms": v["transforms"],
            "min_share": v["min_share"],
            "outliers": v["outliers"],
        }

    def add_config_errors(self, errors: dict[str, str]) -> None:
        """Errors of the service (model field or engine names) next to their fields."""
        for field, text in errors.items():
            target = EDITOR_ERROR_FIELDS.get(field, field)
            self.add_error(target if target in self.fields else None, text)


#: One-click editor presets (`?preset=` on the new-segmentation page): initial values of the form.
EDITOR_PRESETS: dict[str, dict] = {
    "rfm": {"name": "RFM groups", "method": Method.RFM},
    "rfm_kmeans": {
        "name": "KMeans on log R, F, M",
        "method": Method.KMEANS,
        "features": list(RFM_FEATURES),
        "transform": "log",
        "scaler": "minmax",
    },
}
