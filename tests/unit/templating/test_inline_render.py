"""Where a render runs: straight-line templates, once compiled, render inline on the caller's thread with the
same results and errors as on the render threads; anything that can run away stays on the threads."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from templating import (
    LineBreakInHeader,
    MissingVariable,
    OutputTooLarge,
    RefusedConstruct,
    RenderLimits,
    TemplateError,
    TemplateRenderer,
    render_context,
)
from templating.renderer import INLINE_MAX_SOURCE

USER = {"name": "Ada", "email": "ada@example.com", "locale": "en"}


def renders(path: str) -> float:
    return REGISTRY.get_sample_value("template_renders_total", {"path": path}) or 0.0


@pytest.fixture
async def renderer() -> AsyncIterator[TemplateRenderer]:
    rendering = TemplateRenderer(RenderLimits(time_limit=0.5, threads=2, max_chars=10_000))
    yield rendering
    rendering.close()


async def render_twice(renderer: TemplateRenderer, parts: dict[str, str], **variables: object) -> tuple[dict, dict]:
    """The first render (compiles, on a thread) and the second, with the path each took."""
    context = render_context(variables, USER)
    first = await renderer.render(parts, context)
    inline_before = renders("inline")
    second = await renderer.render(parts, context)
    return first, {"result": second, "inline": renders("inline") - inline_before == 1}


async def test_a_straight_line_template_renders_inline_once_compiled_with_the_same_result(
    renderer: TemplateRenderer,
) -> None:
    parts = {
        "subject": "Order {{ order }} for {{ user.name }}",
        "body": "Hi {{ name | title }}{% if link %}: {{ link }}{% endif %} {{ n * 2 }} {{ items | join(', ') }}",
        "html_body": "<p>{{ name }}</p>",
        "title": "",
    }
    first, second = await render_twice(
        renderer, parts, order="A-1", name="ada <b>", link="https://x", n=21, items=["a", "b"]
    )
    assert second["inline"]
    assert (
        second["result"]
        == first
        == {
            "subject": "Order A-1 for Ada",
            "body": "Hi Ada <B>: https://x 42 a, b",
            "html_body": "<p>ada &lt;b&gt;</p>",
            "title": "",
        }
    )


@pytest.mark.parametrize(
    "source",
    [
        "{% for x in items %}{{ x }}{% endfor %}",
        "{{ 'a-b'.replace('-', '+') }}",
        "{% macro m() %}x{% endmacro %}{{ m() }}",
        "{% filter upper %}x{% endfilter %}",
        "{{ range(3) | list }}",
        "x" * (INLINE_MAX_SOURCE + 1),
    ],
)
async def test_loops_calls_macros_and_long_sources_stay_on_the_render_threads(
    renderer: TemplateRenderer, source: str
) -> None:
    first, second = await render_twice(renderer, {"body": source}, items=[1, 2])
    assert not second["inline"]
    assert second["result"] == first


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ({"body": "{{ missing }}"}, MissingVariable),
        ({"subject": "{{ name }}"}, LineBreakInHeader),
        ({"body": "{{ name }}{{ name }}{{ name }}"}, OutputTooLarge),
        ({"body": "{{ name * 10**6 }}"}, RefusedConstruct),
    ],
)
async def test_inline_failures_are_the_same_typed_errors(
    renderer: TemplateRenderer, parts: dict[str, str], expected: type[TemplateError]
) -> None:
    context = render_context({"name": "a\n" + "x" * 4000}, USER)
    errors = []
    for _ in range(2):
        with pytest.raises(TemplateError) as caught:
            await renderer.render(parts, context)
        errors.append(caught.value)
    assert [type(error) for error in errors] == [expected, expected]
    assert errors[0].field == errors[1].field
    assert errors[0].description == errors[1].description


async def test_a_render_past_the_inline_limit_is_redone_on_a_thread_and_never_inline_again() -> None:
    renderer = TemplateRenderer(RenderLimits(inline_time_limit=0.0))
    try:
        parts = {"body": "Hi {{ name }}"}
        context = render_context({"name": "Ada"}, USER)
        assert await renderer.render(parts, context) == {"body": "Hi Ada"}  # compiles, on a thread
        threads, inline = renders("thread"), renders("inline")
        assert await renderer.render(parts, context) == {"body": "Hi Ada"}  # stopped inline, redone
        assert await renderer.render(parts, context) == {"body": "Hi Ada"}  # straight to a thread
        assert renders("thread") - threads == 2
        assert renders("inline") == inline
    finally:
        renderer.close()


class _SleepsOnce:
    """A value whose first printing waits (as a descheduled thread would) without spending CPU."""

    def __init__(self) -> None:
        self.slept = False

    def __str__(self) -> str:
        if not self.slept:
            self.slept = True
            time.sleep(0.02)
        return "slow"


async def test_a_render_that_only_waited_for_the_cpu_stays_inline() -> None:
    renderer = TemplateRenderer(RenderLimits(inline_time_limit=0.005))
    try:
        parts = {"body": "{{ value }} {{ name }}"}
        value = _SleepsOnce()
        context = render_context({"name": "Ada", "value": value}, USER)
        value.slept = True
        assert await renderer.render(parts, context) == {"body": "slow Ada"}  # compiles, on a thread
        value.slept = False
        threads = renders("thread")
        assert await renderer.render(parts, context) == {"body": "slow Ada"}  # past the deadline: redone
        assert renders("thread") - threads == 1
        inline = renders("inline")
        assert await renderer.render(parts, context) == {"body": "slow Ada"}
        assert renders("inline") - inline == 1
    finally:
        renderer.close()
