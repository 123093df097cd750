"""Storing an uploaded file for a worker: the one place the import doors (customers, orders) write uploads.

The file goes to `folder` under a fresh unique name that keeps the user's base name (at most `NAME_MAX`
characters, no directory part), streamed chunk by chunk as Django hands it over, never read whole.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

NAME_MAX = 200


def upload_name(upload: Any) -> str:
    """The uploaded file's base name as shown to users (no directory part), "upload" when it has none."""
    return Path(getattr(upload, "name", "") or "upload").name[:NAME_MAX] or "upload"


def upload_store(*, upload: Any, folder: Path) -> Path:
    """Write `upload` (a Django UploadedFile) into `folder` (made if missing); its stored path."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"{uuid.uuid4().hex}-{upload_name(upload)}"
    with open(stored, "wb") as out:
        for piece in upload.chunks():
            out.write(piece)
    return stored
