from django.apps import AppConfig

from customers.signals import customers_changed
from segmentation import receivers


class SegmentationConfig(AppConfig):
    name = "segmentation"

    def ready(self) -> None:
        customers_changed.connect(receivers.on_customers_changed, dispatch_uid="segmentation.assign_new_customers")
