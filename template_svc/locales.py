"""Locales: BCP 47-style tags (``en``, ``pt-BR``, ``zh-Hant-TW``) in one canonical spelling, and the chain a
render falls back along: the exact tag, then each shorter prefix (``pt-BR`` → ``pt``), then the default."""

from __future__ import annotations

import re

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
MAX_LENGTH = 35


def _canonical_subtag(subtag: str) -> str:
    if len(subtag) == 4 and subtag.isalpha():
        return subtag.title()
    if (len(subtag) == 2 and subtag.isalpha()) or (len(subtag) == 3 and subtag.isdigit()):
        return subtag.upper()
    return subtag.lower()


def normalize_locale(value: str) -> str:
    """The canonical spelling of a locale tag (``pt_br`` → ``pt-BR``); ValueError when it is not one."""
    if len(value) > MAX_LENGTH or not _TAG.match(value):
        raise ValueError("must be a locale tag such as 'en' or 'pt-BR'")
    language, *rest = re.split("[-_]", value)
    return "-".join([language.lower(), *(_canonical_subtag(subtag) for subtag in rest)])


def fallback_chain(locale: str, default_locale: str) -> list[str]:
    """The locales to try for ``locale`` (canonical), best first, ending with ``default_locale``."""
    subtags = locale.split("-")
    chain = ["-".join(subtags[:end]) for end in range(len(subtags), 0, -1)]
    if default_locale not in chain:
        chain.append(default_locale)
    return chain
