"""Campaign and playbook pages: thin views over campaigns.services and campaigns.selectors."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns import selectors, services
from campaigns.columns import campaign_export_columns, export_columns_available, export_columns_validate
from campaigns.export import EXPORT_FORMATS, audience_export_response, export_format_validate
from campaigns.forms import CampaignForm, ExportColumnsForm, PlaybookRuleForm
from campaigns.models import Audience, Campaign, CampaignStatus
from core.exceptions import SegmentaError
from core.roles import is_admin
from segmentation.models import PlaybookRule, SegmentRun
from segmentation.playbook import playbook_rules
from segmentation.services.strategies import playbook_rule_create, playbook_rule_update


@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request):
    status = request.GET.get("status") or None
    qs = selectors.campaign_list(status=status)
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/list.html",
        {
            "page": page,
            "status": status,
            "statuses": CampaignStatus.choices,
            "can_add": request.user.has_perm("campaigns.add_campaign"),
        },
    )


def _form_fields(form: CampaignForm) -> dict:
    data = dict(form.cleaned_data)
    data.pop("status", None)
    return data


def _preselected(request, form: CampaignForm) -> dict:
    """`?segment=<id>` (from a segment page) or `?audience=<id>` (a saved audience) ticks that target."""
    initial: dict = {}
    segment = request.GET.get("segment", "")
    if segment.isdigit() and form.fields["segments"].queryset.filter(pk=int(segment)).exists():
        initial["segments"] = [int(segment)]
    audience = request.GET.get("audience", "")
    if audience.isdigit() and Audience.objects.filter(pk=int(audience)).exists():
        initial["audience"] = int(audience)
    return initial


@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request):
    form = CampaignForm(request.POST or None)
    if request.method == "GET":
        form = CampaignForm(initial=_preselected(request, form))
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_create(actor=request.user, **_form_fields(form))
        except SegmentaError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Campaign “{campaign.name}” created as a draft.")
            return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": None})


@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_edit(request, pk: int):
    campaign = get_object_or_404(Campaign, pk=pk)
    if campaign.status == CampaignStatus.ARCHIVED:
        messages.error(request, "Archived campaigns cannot be changed.")
        return redirect("campaigns:detail", pk=pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        fields = _form_fields(form)
        fields.pop("audience", None)
        segments = fields.pop("segments", None)
        try:
            services.campaign_update(
                actor=request.user,
                campaign=campaign,
                segments=segments,
                status=form.cleaned_data.get("status") or None,
                **fields,
            )
        except SegmentaError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Campaign saved.")
            return redirect("campaigns:detail", pk=pk)
    return render(request, "campaigns/form.html", {"form": form, "campaign": campaign})


@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request, pk: int):
    campaign = get_object_or_404(
        Campaign.objects.select_related("owner", "pinned_run", "playbook_rule", "audience"), pk=pk
    )
    counts = selectors.campaign_audience_counts(campaign=campaign)
    available = export_columns_available()
    first = campaign.segments.select_related("run__segmentation").first()
    preview = None
    newer_runs = []
    if first is not None and campaign.status != CampaignStatus.ARCHIVED:
        current_run_id = campaign.pinned_run_id or first.run_id
        newer_runs = list(
            SegmentRun.objects.filter(
                segmentation_id=first.run.segmentation_id, status="succeeded", pk__gt=current_run_id
            ).order_by("-pk")[:10]
        )
        wanted = request.GET.get("run")
        target = None
        if wanted and wanted.isdigit():
            target = next((r for r in newer_runs if r.pk == int(wanted)), None)
        active_id = first.run.segmentation.active_run_id
        if target is None and active_id and active_id != current_run_id:
            target = next((r for r in newer_runs if r.pk == active_id), None)
        if target is not None:
            preview = selectors.campaign_repin_preview(campaign=campaign, run=target)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "counts": counts,
            "preview": preview,
            "newer_runs": newer_runs,
            "can_change": request.user.has_perm("campaigns.change_campaign"),
            "can_export": request.user.has_perm("campaigns.export_audience"),
            "export_form": _export_form(campaign, available),
            "export_columns": [available[n] for n in campaign_export_columns(campaign=campaign, available=available)],
            "export_formats": EXPORT_FORMATS.values(),
        },
    )


def _export_form(campaign: Campaign, available: dict, data=None) -> ExportColumnsForm:
    chosen = campaign_export_columns(campaign=campaign, available=available)
    return ExportColumnsForm(data, available=available, initial={"columns": chosen})


@permission_required("campaigns.export_audience", raise_exception=True)
def campaign_export(request, pk: int):
    """Download the audience: `?format=excel|csv|json` (default excel), `?columns=a,b` (default: the campaign's)."""
    campaign = get_object_or_404(Campaign.objects.select_related("audience"), pk=pk)
    try:
        export_format = export_format_validate(request.GET.get("format") or "excel")
        raw = request.GET.get("columns")
        columns = export_columns_validate(raw, parameter="columns") if raw is not None else None
    except SegmentaError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    return audience_export_response(actor=request.user, campaign=campaign, columns=columns, format=export_format)


@require_POST
def campaign_export_columns_save(request, pk: int):
    """Store the export columns ticked on the campaign page (in the page's order)."""
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    form = _export_form(campaign, export_columns_available(), request.POST)
    if not form.is_valid():
        messages.error(request, "Export columns: " + " ".join(form.errors.get("columns", ["choose at least one"])))
        return redirect("campaigns:detail", pk=pk)
    try:
        services.campaign_update(actor=request.user, campaign=campaign, export_columns=form.cleaned_data["columns"])
    except SegmentaError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Export columns saved: {', '.join(form.cleaned_data['columns'])}.")
    return redirect("campaigns:detail", pk=pk)


def _post_action(request, pk: int, do, done: str):
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        do(campaign)
    except SegmentaError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect("campaigns:detail", pk=pk)


@require_POST
def campaign_schedule(request, pk: int):
    return _post_action(
        request, pk, lambda c: services.campaign_schedule(actor=request.user, campaign=c), "Scheduled: audience pinned."
    )


@require_POST
def campaign_archive(request, pk: int):
    return _post_action(request, pk, lambda c: services.campaign_archive(actor=request.user, campaign=c), "Archived.")


@require_POST
def campaign_repin(request, pk: int):
    if not request.user.has_perm("campaigns.change_campaign"):
        raise PermissionDenied
    wanted = (request.POST.get("run") or "").strip()
    if not wanted.isdecimal() or len(wanted) > 18:
        return HttpResponseBadRequest(
            f"run: expected the number of a run; got {wanted[:40]!r}", content_type="text/plain; charset=utf-8"
        )
    run = get_object_or_404(SegmentRun, pk=int(wanted))
    return _post_action(
        request,
        pk,
        lambda c: services.campaign_repin(actor=request.user, campaign=c, run=run),
        f"Re-pinned to run {run.pk}.",
    )


# Playbook ---------------------------------------------------------------------------------------


@permission_required("segmentation.view_playbookrule", raise_exception=True)
def playbook_list(request):
    return render(
        request,
        "campaigns/playbook.html",
        {"rules": playbook_rules(), "can_edit": is_admin(request.user)},
    )


def _admin_only(request) -> None:
    if not is_admin(request.user):
        raise PermissionDenied("Only Admins edit the playbook.")


def playbook_edit(request, pk: int | None = None):
    _admin_only(request)
    rule = get_object_or_404(PlaybookRule, pk=pk) if pk else None
    form = PlaybookRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        fields = {k: form.cleaned_data[k] for k in PlaybookRuleForm.Meta.fields}
        try:
            if rule is None:
                playbook_rule_create(actor=request.user, **fields)
            else:
                playbook_rule_update(actor=request.user, rule=rule, **fields)
        except SegmentaError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Playbook rule saved. New segments get their strategy from the playbook.")
            return redirect("campaigns:playbook")
    return render(request, "campaigns/playbook_form.html", {"form": form, "rule": rule})
