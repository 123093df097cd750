"""The rejected rows of an import with "skip invalid rows": where their CSV is kept and handed over.

`validation.RejectedRows` streams them to a temporary file while the file is read; a committed import
moves that file under `rejected_folder()` (its path stored on the ImportJob, offered for download); a
dry run or a failed import drops it.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings

from customers.imports import validation
from customers.models import ImportJob


def rejected_folder() -> Path:
    """Where the rejected rows of committed imports are kept (one CSV per import)."""
    return Path(settings.VAR_DIR) / "import-rejected"


def rejected_store(rejected: validation.RejectedRows | None) -> str:
    """Move the rejected rows of a committed import to their place; its path ('' when none)."""
    if rejected is None or rejected.path is None:
        return ""
    if not rejected.count:
        rejected.discard()
        return ""
    target = rejected_folder() / f"import-{uuid.uuid4().hex}.csv"
    rejected.path.replace(target)
    rejected.path = target
    return str(target)


def rejected_hand_over(rejected: validation.RejectedRows | None, *, job: ImportJob, out: Any) -> None:
    """Copy the rejected rows to `out` if asked; drop the temporary file of a dry run."""
    if rejected is None or rejected.path is None:
        return
    if out is not None and rejected.count:
        shutil.copyfile(rejected.path, out)
    if not job.rejected_path:
        rejected.discard()
