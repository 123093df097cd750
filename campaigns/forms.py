from __future__ import annotations

import json

from django import forms

from campaigns.columns import ExportColumn
from campaigns.models import Audience, AudienceStatus, Campaign, CampaignStatus
from campaigns.services import _TRANSITIONS
from core.exceptions import ConfigError
from segmentation.models import PlaybookRule, Segment, Segmentation
from segmentation.playbook import conditions_validate
from segmentation.validators import json_depth_validate


class SegmentChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Segment) -> str:
        return f"{obj.name} · {obj.size} customers (run {obj.run_id})"


class AudienceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Audience) -> str:
        return f"{obj.name} · {obj.size} customers (saved {obj.created_at:%Y-%m-%d})"


class CampaignForm(forms.ModelForm):
    segments = SegmentChoiceField(queryset=Segment.objects.none(), widget=forms.CheckboxSelectMultiple, required=False)
    audience = AudienceChoiceField(
        queryset=Audience.objects.filter(status=AudienceStatus.READY),
        required=False,
        empty_label="— none: target the segments above —",
        label="Or a static audience",
        help_text="A saved customer list (Customers → filter → Save as audience), instead of segments.",
    )
    status = forms.ChoiceField(choices=[], required=False)

    class Meta:
        model = Campaign
        fields = [
            "name", "goal", "channel", "offer", "starts_on", "ends_on", "segments", "audience", "strategy",
            "playbook_rule",
        ]  # fmt: skip
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
            "goal": forms.Textarea(attrs={"rows": 2}),
            "offer": forms.Textarea(attrs={"rows": 2}),
            "strategy": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        campaign = self.instance if self.instance.pk else None
        if campaign and campaign.pinned_run_id:
            self.fields["segments"].queryset = Segment.objects.filter(run_id=campaign.pinned_run_id)
            self.fields["segments"].help_text = f"Segments of the pinned run {campaign.pinned_run_id}."
        else:
            runs = Segmentation.objects.exclude(active_run=None).values("active_run_id")
            qs = Segment.objects.filter(run_id__in=runs)
            if campaign:
                qs = qs | Segment.objects.filter(campaigns=campaign)
            self.fields["segments"].queryset = qs.distinct().order_by("run_id", "label")
            self.fields["segments"].help_text = "Segments of the active run."
        self.fields["playbook_rule"].queryset = PlaybookRule.objects.filter(active=True)
        self.fields["playbook_rule"].required = False
        self.fields["playbook_rule"].help_text = "Without strategy text, the rule's actions become the strategy."
        if campaign:
            self.fields["audience"].disabled = True
            self.fields["audience"].help_text = "A campaign's static audience is chosen when it is created."
            if campaign.audience_id:
                del self.fields["segments"]
        if campaign:
            current = CampaignStatus(campaign.status)
            allowed = sorted(_TRANSITIONS.get(current, {current}))
            self.fields["status"].choices = [(s, CampaignStatus(s).label) for s in allowed]
            self.fields["status"].initial = campaign.status
        else:
            del self.fields["status"]

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", f"The end ({ends}) must be on or after the start ({starts}).")
        if "segments" in self.fields and not self.instance.pk:
            segments, audience = data.get("segments"), data.get("audience")
            if segments and audience:
                self.add_error("audience", "Choose segments or a static audience, not both.")
            elif not segments and not audience:
                self.add_error("segments", "Choose at least one segment, or a static audience below.")
        elif "segments" in self.fields and not data.get("segments") and not self.instance.audience_id:
            self.add_error("segments", "Choose at least one segment.")
        return data


class ExportColumnsForm(forms.Form):
    """The columns of a campaign's export, as checkboxes in the order the page lists them."""

    columns = forms.MultipleChoiceField(choices=[], widget=forms.CheckboxSelectMultiple, label="Columns")

    def __init__(self, *args, available: dict[str, ExportColumn], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = [(name, f"{c.label} ({name})") for name, c in available.items()]


class PlaybookRuleForm(forms.ModelForm):
    flags = forms.CharField(required=False, help_text="Comma-separated flags the segment must carry, e.g. upsell")
    conditions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='JSON list, e.g. [{"feature": "age", "stat": "z", "op": "lte", "value": -0.5}]',
    )

    class Meta:
        model = PlaybookRule
        fields = ["name", "priority", "active", "flags", "conditions", "actions", "rationale"]
        widgets = {"actions": forms.Textarea(attrs={"rows": 3}), "rationale": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["flags"] = ", ".join(self.instance.flags or [])
            self.initial["conditions"] = json.dumps(self.instance.conditions or [])

    def clean_flags(self) -> list[str]:
        return [f.strip() for f in (self.cleaned_data.get("flags") or "").split(",") if f.strip()]

    def clean_conditions(self) -> list[dict]:
        raw = (self.cleaned_data.get("conditions") or "").strip()
        if not raw:
            return []
        json_depth_validate(raw, name="conditions")  # a deeply nested text would make the parser recurse
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None
        try:
            return conditions_validate(value)
        except ConfigError as exc:
            raise forms.ValidationError(str(exc)) from None
