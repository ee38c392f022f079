"""Identifiers in each language's own style, from Avro names (``[A-Za-z_][A-Za-z0-9_]*``)."""

import re
from collections.abc import Iterable

from ..avro import record_name as pascal

__all__ = ["camel", "pascal", "unique_names"]

_LEADING_CAPITALS = re.compile(r"^[A-Z]+(?=[A-Z][a-z])|^[A-Z]+$|^[A-Z]")


def camel(name: str) -> str:
    """``order_id`` -> ``orderId``, ``URLPath`` -> ``urlPath``, ``ID`` -> ``id``."""
    text = pascal(name) or name
    return _LEADING_CAPITALS.sub(lambda match: match.group(0).lower(), text, count=1)


def unique_names(names: Iterable[str], style, keep_spelling: bool = True) -> dict[str, str]:
    """Each of ``names`` -> its identifier in ``style``. A name whose styled form an earlier one
    took keeps its Avro spelling (when ``keep_spelling``), else gets a number."""
    taken: set[str] = set()
    result = {}
    for name in names:
        candidate = style(name) or name
        if candidate in taken and keep_spelling:
            candidate = name
        base, number = candidate, 2
        while candidate in taken:
            candidate, number = f"{base}{number}", number + 1
        taken.add(candidate)
        result[name] = candidate
    return result
