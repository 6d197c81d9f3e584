"""Issue 14, finding 1: a template must not grow a value past the size limit one small step at a time (bytes
round trips, captured blocks, lazy sequences). Each step is refused when it would pass the limit, before the next
one can multiply it, so rendering such templates, ten at once, costs this process next to no memory. Strings and
numbers offer only the allow-listed methods, and bytes none."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from templating import CompileError, RefusedConstruct, RenderLimits, TemplateError, TemplateRenderer
from templating.allowed import STR_METHODS
from tests.support.amplifying_templates import AMPLIFIERS, NESTED_LOOPS, PRINTED_FUNCTION

PEAK_GROWTH_LIMIT_KIB = 50 * 1024


@pytest.fixture
async def renderer() -> AsyncIterator[TemplateRenderer]:
    rendering = TemplateRenderer(RenderLimits())  # the services' defaults: 256 Ki characters, 1 s, 4 threads
    yield rendering
    rendering.close()


async def refusal(renderer: TemplateRenderer, source: str) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        await renderer.render({"body": source}, {})
    return caught.value


def memory_kib(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (the peak since the last reset) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


def reset_peak_memory() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM starts again from the current RSS


@pytest.mark.parametrize("source", AMPLIFIERS.values(), ids=AMPLIFIERS.keys())
async def test_an_amplifying_template_is_refused_at_the_step_past_the_limit(
    renderer: TemplateRenderer, source: str
) -> None:
    error = await refusal(renderer, source)
    assert isinstance(error, RefusedConstruct), error
    assert "over the limit of 262144" in error.description or "not allowed" in error.description, error


async def test_ten_amplifying_renders_at_once_stay_within_50_mb(renderer: TemplateRenderer) -> None:
    sources = [*AMPLIFIERS.values(), *AMPLIFIERS.values()][:10]
    await asyncio.gather(*(refusal(renderer, source) for source in sources))  # compiled, threads started
    before = memory_kib("VmRSS")
    reset_peak_memory()
    errors = await asyncio.gather(*(refusal(renderer, source) for source in sources))
    growth = memory_kib("VmHWM") - before
    assert all(isinstance(error, RefusedConstruct) for error in errors), errors
    assert growth < PEAK_GROWTH_LIMIT_KIB, f"peak RSS grew by {growth} KiB"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ 'x'.encode() }}", "str.encode is not allowed in templates"),
        ("{{ 'x'['encode']() }}", "str.encode is not allowed in templates"),
        ("{{ ('x' | attr('encode'))() }}", "str.encode is not allowed in templates"),
        ("{{ '{0.encode}'.format('x') }}", "str.encode is not allowed in templates"),
        ("{{ 'x'.translate({120: 'yy'}) }}", "str.translate is not allowed in templates"),
        ("{{ 'x'.expandtabs(8) }}", "str.expandtabs is not allowed in templates"),
        ("{{ (255).to_bytes(1, 'big') }}", "int.to_bytes is not allowed in templates"),
        ("{{ (1.5).hex() }}", "float.hex is not allowed in templates"),
        (PRINTED_FUNCTION, "printing a value: a function or method is not allowed here"),
        ("{% set s = 'x' %}{{ '' ~ s.upper }}", "concatenating with ~: a function or method is not allowed here"),
    ],
)
async def test_methods_off_the_allow_list_and_bytes_are_refused(
    renderer: TemplateRenderer, source: str, message: str
) -> None:
    error = await refusal(renderer, source)
    assert isinstance(error, RefusedConstruct), error
    assert error.description == f"line 1: {message}" or error.description.startswith(f"line 1: {message}"), error


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ ' Ada Lovelace '.strip().upper() }}", "ADA LOVELACE"),
        ("{{ 'ada'.capitalize() }} {{ 'ADA'.lower() }} {{ 'ada lovelace'.title() }}", "Ada ada Ada Lovelace"),
        ("{{ 'a,b,c'.split(',') | join('/') }} {{ '-'.join(['x', 'y']) }}", "a/b/c x-y"),
        ("{{ 'order-42'.startswith('order') }} {{ 'x.pdf'.endswith('.pdf') }}", "True True"),
        ("{{ 'a-b'.replace('-', '+') }} {{ '7'.zfill(3) }} {{ 'x'.center(3) }}|", "a+b 007  x |"),
        ("{{ '{:>5}|{n}'.format('a', n='b') }} {{ '{x}'.format_map({'x': 1}) }}", "    a|b 1"),
        ("{{ (3.0).is_integer() }} {{ (10).bit_length() }}", "True 4"),
        ("{% macro m(n) %}<{{ n }}{{ caller() }}>{% endmacro %}{% call m(1) %}!{% endcall %}", "<1!>"),
        ("{% set t %}{{ 'ab' * 2 }}{% endset %}{% filter upper %}{{ t }}{% endfilter %}", "ABAB"),
        ("{% block b %}[{{ 'b' }}]{% endblock %}{{ self.b() }}", "[b][b]"),
        ("{{ ['a', 'b'] | map('upper') | list }} {{ range(3) | select('odd') | list }}", "['A', 'B'] [1]"),
    ],
)
async def test_allow_listed_methods_and_captures_keep_working(
    renderer: TemplateRenderer, source: str, expected: str
) -> None:
    assert (await renderer.render({"body": source}, {}))["body"] == expected


def test_the_allow_list_has_no_method_that_builds_bytes_or_escapes_the_formatter() -> None:
    assert not STR_METHODS & {"encode", "format", "format_map", "translate", "maketrans", "expandtabs"}


async def test_loops_nested_deeper_than_python_compiles_are_a_compile_error(renderer: TemplateRenderer) -> None:
    errors = await renderer.check({"body": NESTED_LOOPS})
    assert [(type(error), error.field) for error in errors] == [(CompileError, "body")]
    assert errors[0].description == "too complex to compile (too many statically nested blocks)"
