"""Which attributes of strings and numbers a template may use: an allow-list, so that a method Python adds
later, or one that was overlooked, is refused rather than reachable. Bytes have none: a template never needs
them, and ``encode``/``decode``/``hex`` round trips are a way to multiply a string's size in one C call.

The list is documented for template authors in docs/api.md (section 3); keep the two in step.
"""

from __future__ import annotations

from typing import Any

STR_METHODS = frozenset(
    {
        "capitalize",
        "casefold",
        "center",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isascii",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "join",
        "ljust",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "replace",
        "rfind",
        "rindex",
        "rjust",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
        "zfill",
    }
)
"""The ``str`` methods a template may call. ``format`` and ``format_map`` are not listed: Jinja's sandbox
replaces them with its own formatter on access, whose size the sandbox checks before it runs."""

NUMBER_ATTRIBUTES = frozenset(
    {
        "as_integer_ratio",
        "bit_count",
        "bit_length",
        "conjugate",
        "denominator",
        "imag",
        "is_integer",
        "numerator",
        "real",
    }
)
"""The attributes of an ``int`` or ``float`` a template may use (none of them builds bytes or a long string)."""


def allowed_attribute(obj: Any, attribute: str) -> bool | None:
    """Whether a template may use ``obj.attribute`` when ``obj`` is a string, bytes or a number; None for every
    other object, which the sandbox's general rules govern."""
    if isinstance(obj, str):
        return attribute in STR_METHODS
    if isinstance(obj, bytes | bytearray | memoryview):
        return False
    if isinstance(obj, int | float):
        return attribute in NUMBER_ATTRIBUTES
    return None
