"""Sample payloads as escaped, pretty-printed HTML with the failing field marked.

Every piece of a payload (keys, values, raw text) goes through ``escape``; only the markup this
module writes itself is left as is. Very long strings are cut and very deep values are shown
compact, so that no payload can make a page unreadable.
"""

import json
import re
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MAX_STRING = 2000  # characters of one string value shown
MAX_DEPTH = 24  # nesting shown as indented lines; deeper values are shown compact
MAX_COMPACT = 500  # characters of a compact value shown
INDENT = "  "
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")

Path = tuple[str | int, ...]


def parse_path(field: str | None) -> Path | None:
    """``items[2].sku`` -> ("properties", "items", 2, "sku"): where a field error is in the
    event (the matcher's paths start inside ``properties``)."""
    if not field:
        return None
    parts: list[str | int] = ["properties"]
    for name, index in _PATH_PART.findall(field):
        parts.append(int(index) if index else name)
    return tuple(parts)


def render(raw: str, field: str | None = None, missing: bool = False) -> SafeString:
    """The raw event as HTML lines; the value at ``field`` is marked (``missing``: the key is
    absent, so its parent object gets a marked line saying so)."""
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return mark_safe(f'<span class="raw">{escape(_cut(raw))}</span>')
    lines: list[str] = []
    _write(value, (), parse_path(field), missing, 0, "", lines, last=True)
    return mark_safe("\n".join(lines))


def _cut(text: str) -> str:
    if len(text) <= MAX_STRING:
        return text
    return f"{text[:MAX_STRING]}… ({len(text) - MAX_STRING:,} more characters)"


def _scalar(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and len(value) > MAX_STRING:
        text = json.dumps(value[:MAX_STRING], ensure_ascii=False)[:-1] + '…"'
        return escape(text) + f' <span class="cut">({len(value) - MAX_STRING:,} more)</span>'
    return escape(text)


def _compact(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        text = "…"
    if len(text) > MAX_COMPACT:
        text = text[:MAX_COMPACT] + "…"
    return f'<span class="deep">{escape(text)}</span>'


def _write(
    value: Any,
    path: Path,
    target: Path | None,
    missing: bool,
    depth: int,
    label: str,
    lines: list[str],
    last: bool,
) -> None:
    """Append ``value``'s lines; ``label`` is its escaped ``"key": `` prefix, if any."""
    indent = INDENT * depth
    comma = "" if last else ","
    marked = target is not None and path == target
    open_mark, close_mark = ('<mark class="failing">', "</mark>") if marked else ("", "")
    if isinstance(value, dict | list) and value and depth >= MAX_DEPTH:
        lines.append(f"{indent}{open_mark}{label}{_compact(value)}{close_mark}{comma}")
        return
    if isinstance(value, dict) and value:
        lines.append(f"{indent}{open_mark}{label}{{")
        items = list(value.items())
        for i, (key, item) in enumerate(items):
            key_label = f'<span class="key">{escape(json.dumps(key, ensure_ascii=False))}</span>: '
            is_last = i == len(items) - 1 and not _missing_here(path, target, missing)
            _write(item, (*path, key), target, missing, depth + 1, key_label, lines, is_last)
        if _missing_here(path, target, missing):
            name = escape(json.dumps(target[-1], ensure_ascii=False))
            lines.append(f'{indent}{INDENT}<mark class="failing missing">{name}: missing</mark>')
        lines.append(f"{indent}}}{close_mark}{comma}")
    elif isinstance(value, list) and value:
        lines.append(f"{indent}{open_mark}{label}[")
        for i, item in enumerate(value):
            _write(item, (*path, i), target, missing, depth + 1, "", lines, i == len(value) - 1)
        lines.append(f"{indent}]{close_mark}{comma}")
    else:
        lines.append(f"{indent}{open_mark}{label}{_scalar(value)}{close_mark}{comma}")


def _missing_here(path: Path, target: Path | None, missing: bool) -> bool:
    return missing and target is not None and path == target[:-1]
