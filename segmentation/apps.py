from django.apps import AppConfig


class SegmentationConfig(AppConfig):
    name = "segmentation"

    def ready(self) -> None:
        from customers.signals import customers_changed
        from segmentation import receivers

        customers_changed.connect(receivers.on_customers_changed, dispatch_uid="segmentation.assign_new_customers")
