"""plotly.js as a static file: the copy the installed plotly package ships, nothing downloaded.

`PlotlyFinder` offers the package's `package_data/plotly.min.js` (and nothing else of that folder) as
`plotly/plotly.min.js`. `collectstatic` then copies it like any static file, so in production whitenoise
serves it compressed (gzip and brotli files made at collect time) under a hashed name cached for a year; in
development whitenoise finds it through the finders (WHITENOISE_USE_FINDERS follows DEBUG).
"""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder, searched_locations
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly.min.js"
PREFIX = "plotly"


def plotly_js_path() -> Path:
    return Path(plotly.__file__).resolve().parent / "package_data" / PLOTLY_JS


class PlotlyFinder(BaseFinder):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.source = plotly_js_path()
        self.storage = FileSystemStorage(location=str(self.source.parent))
        self.storage.prefix = PREFIX

    def check(self, **kwargs):
        if not self.source.is_file():
            return [Error(f"plotly.min.js is missing from the installed plotly package (looked at {self.source}).")]
        return []

    def find(self, path, find_all=False, **kwargs):
        if kwargs:  # Django 5.2 still accepts the deprecated `all`
            find_all = self._check_deprecated_find_param(find_all=find_all, **kwargs)
        root = str(self.source.parent)
        if root not in searched_locations:
            searched_locations.append(root)
        if path == f"{PREFIX}/{PLOTLY_JS}" and self.source.is_file():
            return [str(self.source)] if find_all else str(self.source)
        return []

    def list(self, ignore_patterns):
        if self.source.is_file():
            yield PLOTLY_JS, self.storage
