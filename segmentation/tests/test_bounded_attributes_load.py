"""Issue 14, finding 8: number attributes at the import's bound (|x| < 1e15) load exactly as float64 for a run."""

from __future__ import annotations

import numpy as np
import pytest

from customers.imports.service import customer_import
from segmentation.loading import customers_frame

pytestmark = pytest.mark.django_db


def test_numbers_at_the_import_bound_load_exactly_as_float64(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    path = tmp_path / "customers.csv"
    path.write_text("ID,Balance\n1,12.5\n2,1e308\n3,999999999999999\n4,-999999999999999\n")
    customer_import(file=path, skip_invalid=True)  # 1e308 is rejected at import
    frame = customers_frame(features=["balance"])
    assert frame["balance"].dtype == np.float64
    assert sorted(frame["balance"].tolist()) == [-999999999999999.0, 12.5, 999999999999999.0]
