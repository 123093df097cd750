"""Forms of the insight pages: strategy edit, chart feature choice, run comparison."""

from __future__ import annotations

from django import forms

from segmentation.ml.charts import feature_label
from segmentation.services.strategies import STRATEGY_MAX_CHARS


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
