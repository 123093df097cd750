"""Static audience pages: save the filtered customer list as an audience, list the saved ones.

The customer list's query string is read only through `customers.selectors.customers.customer_query_parse`
and `customer_list` (the customers app owns its filters); the members are written set-based by
`campaigns.services.audience_create`.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import urlencode

from campaigns import selectors, services
from campaigns.models import AudienceStatus
from core.exceptions import SegmentaError
from customers.selectors.customers import CustomerQuery, customer_list, customer_query_parse

#: Parameters of the customer list that do not choose customers (order, page, shown columns).
NOT_FILTERS = ("sort", "page", "cols", "columns")


class AudienceForm(forms.Form):
    name = forms.CharField(max_length=200, label="Audience name")


def audience_filters(query: CustomerQuery) -> dict[str, str]:
    """The query's filter parameters (not its sort order or page), as the customer list spells them."""
    return {k: v for k, v in query.as_params().items() if k not in NOT_FILTERS}


def audience_description(filters: dict[str, str]) -> str:
    """The filters in words, e.g. "gender = female; age_min = 30"; "every customer" without any."""
    if not filters:
        return "every customer (no filter)"
    return "; ".join(f"{key} = {value}" for key, value in filters.items())


@permission_required("campaigns.add_campaign", raise_exception=True)
def audience_create(request):
    """GET: what would be saved (the filters in words and the count); POST: save it."""
    source = request.POST if request.method == "POST" else request.GET
    query = customer_query_parse(params=source)
    filters = audience_filters(query)
    description = audience_description(filters)
    form = AudienceForm(request.POST or None)
    size = customer_list(query=query).count()
    if request.method == "POST" and form.is_valid():
        try:
            audience = services.audience_create(
                actor=request.user,
                name=form.cleaned_data["name"],
                filters=filters,
                description=description,
                expected_size=size,
            )
        except SegmentaError as exc:
            form.add_error(None, str(exc))
        else:
            if audience.status == AudienceStatus.READY:
                messages.success(request, f"Audience “{audience.name}” saved with {audience.size} customers.")
            else:
                messages.info(request, f"Audience “{audience.name}” is being saved ({size} customers): ready soon.")
            return redirect("campaigns:audiences")
    return render(
        request,
        "campaigns/audience_form.html",
        {
            "form": form,
            "filters": filters,
            "description": description,
            "notes": query.notes,
            "size": size,
            "back": "?" + urlencode(query.as_params()),
        },
    )


@permission_required("campaigns.view_audience", raise_exception=True)
def audience_list(request):
    page = Paginator(selectors.audience_list(), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "campaigns/audience_list.html",
        {
            "page": page,
            "can_add": request.user.has_perm("campaigns.add_campaign"),
            "pending": any(a.status in (AudienceStatus.QUEUED, AudienceStatus.RUNNING) for a in page),
        },
    )
