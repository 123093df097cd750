"""Request body parsers for the API.

`BoundedJSONParser` is DRF's JSON parser with a bound on nesting: a body nested deeper than
`JSON_MAX_DEPTH` levels (arrays and objects) is a 400 with a clear message, decided by a linear scan
before the JSON decoder runs. Python's decoder recurses once per level, so a body of a few thousand
"[" used to raise RecursionError deep inside it: a 500. No body of the API needs more than a few levels.
"""

from __future__ import annotations

import codecs
import io
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: The deepest nesting of arrays and objects a JSON body may have.
JSON_MAX_DEPTH = 64

# A JSON string (its escapes included) or one bracket: brackets inside strings are not nesting.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


def json_depth_exceeds(text: str, limit: int = JSON_MAX_DEPTH) -> bool:
    """True when `text` nests arrays/objects deeper than `limit` (invalid JSON is left to the decoder)."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for match in _TOKENS.finditer(text):
        bracket = match.group()
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        elif bracket in "]}":
            depth -= 1
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser, refusing bodies nested deeper than JSON_MAX_DEPTH levels (400, not a 500)."""

    max_depth = JSON_MAX_DEPTH

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text: {exc}") from exc
        if json_depth_exceeds(text, self.max_depth):
            raise ParseError(
                f"JSON parse error - the body is nested more than {self.max_depth} levels deep "
                "(arrays and objects); send a flatter body"
            )
        try:
            return super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError as exc:  # belt and braces: never a 500
            raise ParseError("JSON parse error - the body is nested too deeply") from exc
