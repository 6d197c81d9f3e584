"""Locale tags in one canonical spelling, and the chain a render falls back along."""

import pytest

from template_svc.locales import fallback_chain, normalize_locale


@pytest.mark.parametrize(
    ("tag", "canonical"),
    [("en", "en"), ("pt_br", "pt-BR"), ("PT-br", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW"), ("es-419", "es-419")],
)
def test_tags_take_one_spelling(tag: str, canonical: str) -> None:
    assert normalize_locale(tag) == canonical


@pytest.mark.parametrize("tag", ["", "e", "english-", "en us", "1en", "en-" + "x" * 9, "en-" + "-a" * 20])
def test_what_is_not_a_tag_is_refused(tag: str) -> None:
    with pytest.raises(ValueError, match="locale tag"):
        normalize_locale(tag)


def test_the_chain_drops_one_subtag_at_a_time_and_ends_with_the_default() -> None:
    assert fallback_chain("zh-Hant-TW", "en") == ["zh-Hant-TW", "zh-Hant", "zh", "en"]
    assert fallback_chain("pt-BR", "en") == ["pt-BR", "pt", "en"]


def test_the_default_appears_once() -> None:
    assert fallback_chain("en-GB", "en") == ["en-GB", "en"]
    assert fallback_chain("en", "en") == ["en"]
