"""Recommendation API: a customer's top products, a segment's defining and most recommended products.

    GET /api/customers/<external_id>/recommendations/?n=10
    GET /api/segments/<id>/products/?n=10

Both need the `campaigns.view_recommendation` permission (every role has it); they read the active
run's stored lists, never score on request.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.recommendations import selectors
from core.api import HasPermission
from customers.models import Customer
from segmentation.models import Segment

MAX_N = 50


class CanViewRecommendations(HasPermission):
    permission = "campaigns.view_recommendation"
    message = "You need the campaigns.view_recommendation permission to read recommendations."


def _n(request) -> int:
    raw = request.query_params.get("n", "10")
    try:
        n = int(raw)
    except ValueError:
        raise ValidationError({"n": f"expected a whole number from 1 to {MAX_N}, got {raw!r}"}) from None
    if not 1 <= n <= MAX_N:
        raise ValidationError({"n": f"expected a whole number from 1 to {MAX_N}, got {n}"})
    return n


N_PARAM = OpenApiParameter("n", int, description=f"How many products (1..{MAX_N}, default 10)")


class RecommendedProductSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    sku = serializers.CharField()
    description = serializers.CharField()
    score = serializers.FloatField()
    reason = serializers.CharField()
    cold_start = serializers.BooleanField()


class CustomerRecommendationsSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    run = serializers.IntegerField(allow_null=True)
    served_model = serializers.CharField(allow_null=True)
    results = RecommendedProductSerializer(many=True)


class SegmentProductSerializer(serializers.Serializer):
    sku = serializers.CharField()
    description = serializers.CharField()
    lift = serializers.FloatField(required=False)
    share = serializers.FloatField(required=False)
    base_share = serializers.FloatField(required=False)
    buyers = serializers.IntegerField(required=False)
    customers = serializers.IntegerField(required=False)


class SegmentProductsSerializer(serializers.Serializer):
    segment = serializers.IntegerField()
    name = serializers.CharField()
    defining = SegmentProductSerializer(many=True)
    recommended = SegmentProductSerializer(many=True)


class CustomerRecommendationsView(APIView):
    permission_classes = [CanViewRecommendations]

    @extend_schema(
        operation_id="customer_recommendations",
        parameters=[N_PARAM],
        responses=CustomerRecommendationsSerializer,
    )
    def get(self, request, external_id: str):
        n = _n(request)
        customer = get_object_or_404(Customer, external_id=external_id)
        run = selectors.recommendation_run_active()
        items = selectors.customer_recommendations(customer=customer, n=n)
        return Response(
            {
                "external_id": customer.external_id,
                "run": run.pk if run else None,
                "served_model": run.served_model if run else None,
                "results": [
                    {
                        "rank": r.rank,
                        "sku": r.product.code,
                        "description": r.product.description,
                        "score": r.score,
                        "reason": r.reason,
                        "cold_start": r.cold_start,
                    }
                    for r in items
                ],
            }
        )


class SegmentProductsView(APIView):
    permission_classes = [CanViewRecommendations]

    @extend_schema(
        operation_id="segment_products",
        parameters=[N_PARAM],
        responses=SegmentProductsSerializer,
    )
    def get(self, request, pk: int):
        n = _n(request)
        segment = get_object_or_404(Segment, pk=pk)
        defining = [
            {k: r[k] for k in ("lift", "share", "base_share", "buyers")}
            | {"sku": r["code"], "description": r["description"]}
            for r in selectors.segment_defining_products(segment=segment, n=n)
        ]
        recommended = [
            {"sku": r["code"], "description": r["description"], "customers": r["customers"]}
            for r in selectors.segment_recommended_products(segment=segment, n=n)
        ]
        return Response({"segment": segment.pk, "name": segment.name, "defining": defining, "recommended": recommended})


urlpatterns = [
    path(
        "customers/<str:external_id>/recommendations/",
        CustomerRecommendationsView.as_view(),
        name="customer-recommendations",
    ),
    path("segments/<int:pk>/products/", SegmentProductsView.as_view(), name="segment-products"),
]
