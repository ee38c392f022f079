"""Template filters of the dashboard: links that change one filter, number formats, and names
that wrap between their words."""

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from ..filters import Filters

register = template.Library()

WORD_ENDS = re.compile(r"([_.\-\]])")
STEP_LABELS = {60: "minute", 3600: "hour", 86400: "day", 7 * 86400: "week"}


@register.filter
def with_range(filters: Filters, key: str) -> str:
    return filters.query(range=key)


@register.filter
def sorted_by(filters: Filters, key: str) -> str:
    return filters.query(sort=key)


@register.filter
def toggle_resolved(filters: Filters) -> str:
    return filters.query(resolved=not filters.resolved)


@register.filter
def cleared(filters: Filters) -> str:
    """The same time range without any other filter."""
    return filters.query(values={}, search="")


@register.filter
def percent(share: float) -> str:
    return f"{share * 100:.2f}%" if 0.99 < share < 1 else f"{share * 100:.1f}%"


@register.filter
def quality(score: float | None) -> str:
    """A class for the score: good from 99%, poor below 95%."""
    if score is None:
        return ""
    return "good" if score >= 0.99 else "fair" if score >= 0.95 else "poor"


@register.filter
def compact(number: int) -> str:
    """1234 -> 1.2k, 2500000 -> 2.5M."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if number >= size:
            return f"{number / size:.1f}".removesuffix(".0") + suffix
    return str(number)


@register.filter
def bar_width(share: float) -> str:
    return f"{max(share * 100, 0.5 if share else 0):.1f}"


@register.filter
def step_label(step: int) -> str:
    if step in STEP_LABELS:
        return STEP_LABELS[step]
    if step % 3600 == 0:
        return f"{step // 3600} hours"
    return f"{step // 60} minutes"


@register.filter
def breakable(name: str) -> SafeString:
    """``name`` escaped, with a line-break opportunity after each ``_ . - ]``: in a narrow
    column, ``checkout_completed`` wraps as ``checkout_`` / ``completed``, not inside a word."""
    return mark_safe(WORD_ENDS.sub(r"\1<wbr>", escape(name)))
