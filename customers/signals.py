"""Signals sent by the customers app.

`customers_changed` is sent after an import (or any bulk change) has committed, with
`customer_ids`: the ids of the customers added or updated. The segmentation app listens
to assign new customers to the active segments. A behaviour recompute sends it with
`customer_ids=[]` (any customer's recency, frequency and monetary may have changed).
"""

from django.dispatch import Signal

customers_changed = Signal()

customer_values_fitted = Signal()
"""Sent after a lifetime-value fit has stored its per-customer values and committed, with `fit_id`.
The segmentation app listens to set the active segments' flags (high value, at risk) from them."""
