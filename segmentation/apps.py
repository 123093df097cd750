from django.apps import AppConfig

from customers.filters import list_filter_register
from customers.signals import customer_values_fitted, customers_changed
from segmentation import receivers


class SegmentationConfig(AppConfig):
    name = "segmentation"

    def ready(self) -> None:
        customers_changed.connect(receivers.on_customers_changed, dispatch_uid="segmentation.assign_new_customers")
        customer_values_fitted.connect(
            receivers.on_customer_values_fitted, dispatch_uid="segmentation.segment_flags_from_values"
        )
        from segmentation.customer_filters import SEGMENT_FILTER  # models are ready only now

        list_filter_register(SEGMENT_FILTER)
