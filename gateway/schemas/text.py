"""Checks of free text that must travel on: protobuf (UTF-8) cannot carry a lone surrogate, which JSON allows
(``"\\ud800"``), and PostgreSQL cannot store a NUL character."""

from __future__ import annotations


def is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def storable_map(mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` itself; ``ValueError`` when a key or value holds NUL or a lone surrogate."""
    for key, value in mapping.items():
        if "\x00" in key or "\x00" in value:
            raise ValueError("keys and values must not contain NUL characters")
        if not (is_unicode(key) and is_unicode(value)):
            raise ValueError("keys and values must be valid Unicode text")
    return mapping
