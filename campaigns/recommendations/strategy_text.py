"""Product placeholders in strategy text (pure): a playbook rule's actions or an edited strategy may say
"Feature {top_products} in the next e-mail"; pages fill them in from the segment's products.

Placeholders (`PLACEHOLDERS`):

- `{top_products}`: the products to feature (`selectors.segment_products_to_feature`: defining and most
  recommended, alternately);
- `{defining_products}`: the products that define the segment (lift against the whole base);
- `{recommended_products}`: the products most recommended to its members.

Each becomes the products' names joined in words ("A, B and C"); without products (no recommendation run
yet, or a reader without the permission to see recommendations) it becomes `FALLBACK`, so the sentence
still reads. Text without a placeholder is returned unchanged (and pages then read no products for it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

PLACEHOLDERS: tuple[str, ...] = ("{top_products}", "{defining_products}", "{recommended_products}")
FALLBACK = "our most popular products"


def strategy_placeholders(text: str) -> list[str]:
    """The placeholders that `text` uses, in `PLACEHOLDERS` order."""
    return [p for p in PLACEHOLDERS if p in (text or "")]


def product_words(products: Sequence[Mapping[str, Any]]) -> str:
    """["A", "B", "C"] -> "A, B and C" (a product's description, else its code); FALLBACK when empty."""
    names = [str(p.get("description") or p.get("code") or "").strip() for p in products]
    names = [n for n in names if n]
    if not names:
        return FALLBACK
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def strategy_fill(text: str, products: Mapping[str, Sequence[Mapping[str, Any]]]) -> str:
    """`text` with each placeholder replaced by its products in words (`products` keyed by placeholder)."""
    for placeholder in strategy_placeholders(text):
        text = text.replace(placeholder, product_words(products.get(placeholder) or ()))
    return text
