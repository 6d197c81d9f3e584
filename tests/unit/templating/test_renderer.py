"""The sandboxed renderer on its own: what templates see, escaping, typed errors, the size and time guards,
the output cap and the compile cache."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf import struct_pb2

from templating import (
    CompileError,
    ControlCharacterInHeader,
    LineBreakInHeader,
    MissingVariable,
    OutputTooLarge,
    RefusedConstruct,
    RenderFailed,
    RenderLimits,
    RenderTooSlow,
    TemplateError,
    TemplateRenderer,
    render_context,
    variables_from_struct,
)
from templating.deadline import DeadlineExceeded, DeadlineRunner

TIME_LIMIT = 0.3


@pytest.fixture
async def renderer() -> AsyncIterator[TemplateRenderer]:
    rendering = TemplateRenderer(RenderLimits(time_limit=TIME_LIMIT, threads=2, max_chars=10_000))
    yield rendering
    rendering.close()


async def body(renderer: TemplateRenderer, source: str, **variables: Any) -> str:
    return (await renderer.render({"body": source}, render_context(variables, {"name": "Ada"})))["body"]


async def failure(renderer: TemplateRenderer, source: str, part: str = "body", **variables: Any) -> TemplateError:
    with pytest.raises(TemplateError) as caught:
        await renderer.render({part: source}, render_context(variables, {"name": "Ada"}))
    return caught.value


async def test_templates_see_variables_and_the_user_which_a_variable_cannot_hide(renderer: TemplateRenderer) -> None:
    assert await body(renderer, "{{ greeting }}, {{ user.name }}", greeting="Hi", user={"name": "Eve"}) == "Hi, Ada"


async def test_only_html_bodies_are_autoescaped(renderer: TemplateRenderer) -> None:
    parts = {"subject": "{{ x }}", "body": "{{ x }}", "html_body": "<p>{{ x }}</p>", "data.k": "{{ x }}"}
    rendered = await renderer.render(parts, {"x": "<b>&"})
    assert rendered == {"subject": "<b>&", "body": "<b>&", "html_body": "<p>&lt;b&gt;&amp;</p>", "data.k": "<b>&"}


async def test_struct_numbers_that_are_whole_print_as_integers() -> None:
    struct = struct_pb2.Struct()
    struct.update({"count": 3, "price": 2.5, "nested": {"ids": [1, 2.0]}, "name": "x", "ok": True})
    assert variables_from_struct(struct) == {
        "count": 3,
        "price": 2.5,
        "nested": {"ids": [1, 2]},
        "name": "x",
        "ok": True,
    }


async def test_compile_errors_name_the_part_and_line(renderer: TemplateRenderer) -> None:
    errors = await renderer.check({"subject": "ok {{ x }}", "body": "a\nb\n{% if %}", "data.url": "{{ x }"})
    assert [(e.field, e.line) for e in errors] == [("body", 3), ("data.url", 1)]
    assert errors[0].description.startswith("line 3: Expected an expression")
    assert all(isinstance(e, CompileError) for e in errors)


@pytest.mark.parametrize(
    ("source", "variables", "field"),
    [
        ("{{ name }}", {}, "variables.name"),
        ("{{ order.total }}", {"order": {}}, "variables.order.total"),
        ("{{ order['total'] }}", {"order": {}}, "variables.order.total"),
        ("{{ rows[2] }}", {"rows": [1]}, "variables.rows[2]"),
        ("{{ user.phone }}", {}, "user.phone"),
        ("{% if flag %}x{% endif %}", {}, "variables.flag"),
    ],
)
async def test_a_missing_variable_is_named(
    renderer: TemplateRenderer, source: str, variables: dict[str, Any], field: str
) -> None:
    error = await failure(renderer, source, **variables)
    assert isinstance(error, MissingVariable)
    assert error.field == field
    assert error.description == "is used by body line 1 but was not given"


async def test_defaults_and_defined_tests_work_with_strict_undefined(renderer: TemplateRenderer) -> None:
    assert await body(renderer, "{{ nick | default('friend') }}{% if nick is defined %}!{% endif %}") == "friend"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ joiner.__init__.__globals__['os'] }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ user.items.__self__ }}",
        "{{ [].append(1) }}",
        "{{ {}.update(a=1) }}",
        "{{ ''.format.__globals__ }}",
        "{{ self.__init__ }}",
        "{{ range.__call__ }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ 1 | attr('__class__') }}",
        "{{ loop.__class__ }}{% for x in [1] %}{% endfor %}",
    ],
)
async def test_escapes_to_python_internals_are_refused(renderer: TemplateRenderer, source: str) -> None:
    error = await failure(renderer, source)
    assert isinstance(error, RefusedConstruct)
    assert "unsafe" in error.description


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' * 100000000 }}",
        "{{ [0] * 100000000 }}",
        "{% set a = [1] * 1000 %}{% set b = [a] * 1000 %}{{ b|length }}",
        "{{ 9 ** (9 ** 9) }}",
        "{% set ns = namespace(x=3) %}{% for i in range(40) %}{% set ns.x = ns.x * ns.x %}{% endfor %}",
        "{{ 'x' * 9000 + 'y' * 9000 }}",
        "{{ '%0999999999d' % 1 }}",
        "{{ '%*d' % (999999999, 1) }}",
        "{{ '%0999999999d' | format(1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '{:{w}}'.format(1, w=999999999) }}",
        "{{ '{0}{0}{0}{0}'.format('x' * 9000) }}",
        "{{ 'x'.center(999999999) }}",
        "{{ 'x'.ljust(999999999) }}",
        "{{ 'x' | center(999999999) }}",
        "{{ 'a\nb' | indent(999999999) }}",
        "{{ ('a' * 5000).replace('a', 'aaaa') }}",
        "{{ ('a' * 5000) | replace('a', 'aaaa') }}",
        "{{ ('\t' * 5000).expandtabs(100) }}",
        "{{ 'abc'.translate({97: 'x' * 9000, 98: 'y'}) }}",
        "{{ ('x' * 5000).join(['a', 'b', 'c']) }}",
        "{{ ['x' * 5000, 'y' * 5000, 'z' * 5000] | join }}",
        "{{ [[1] * 5000, [2] * 5000, [3] * 5000] | sum(start=[]) | length }}",
        "{{ ('w ' * 2000) | wordwrap(2, wrapstring='-' * 100) }}",
        "{{ [1] | batch(999999999, 'x') | list }}",
        "{{ (1).to_bytes(999999999, 'big') }}",
        "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{% macro d(s, n) %}{{ d(s ~ s, n - 1) if n else s | length }}{% endmacro %}{{ d('x', 40) }}",
        "{% set s = 'x' * 3000 %}{% set a = [s, s, s, s] %}{{ a | string }}",
        "{% set s = 'x' * 3000 %}{% set a = [s, s, s, s] %}{{ a }}",
        "{% set s = 'x' * 3000 %}{% set a = [s, s, s, s] %}{{ a | tojson }}",
        "{% set s = 'x' * 3000 %}{% set a = [s, s, s, s] %}{{ '' ~ a }}",
    ],
)
async def test_operations_that_would_build_huge_values_are_refused_before_they_run(
    renderer: TemplateRenderer, source: str
) -> None:
    started = time.perf_counter()
    error = await failure(renderer, source)
    assert time.perf_counter() - started < TIME_LIMIT
    assert isinstance(error, RefusedConstruct), error
    assert (
        "over the limit of 10000" in error.description
        or "bits" in error.description
        or "not allowed" in (error.description)
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 2 ** 10 }} {{ 7 * 6 }} {{ 1 + 2 }} {{ 7 % 3 }}", "1024 42 3 1"),
        ("{{ '%05.1f|%s' % (3.14159, 'x') }}", "003.1|x"),
        ("{{ '{:>5}|{name}'.format('a', name='b') }}", "    a|b"),
        ("{{ 'a-b'.replace('-', '+') }} {{ ', '.join(['x', 'y']) }} {{ ['p', 'q'] | join('/') }}", "a+b x, y p/q"),
        ("{{ 'x' | center(5) }}|{{ 'hi' | indent(2, true) }}", "  x  |  hi"),
        ("{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", "10"),
        ("{{ [1, 2] + [3] }} {{ (range(3) | list) * 2 }}", "[1, 2, 3] [0, 1, 2, 0, 1, 2]"),
        ("{% for x in items %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", "1a,2b"),
        ("{% for x in [] %}x{% else %}none{% endfor %}", "none"),
    ],
)
async def test_ordinary_templates_render_as_usual(renderer: TemplateRenderer, source: str, expected: str) -> None:
    assert await body(renderer, source, items=["a", "b"]) == expected


async def test_output_stops_at_the_cap(renderer: TemplateRenderer) -> None:
    started = time.perf_counter()
    error = await failure(renderer, "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}")
    assert isinstance(error, OutputTooLarge)
    assert error.description == "renders more than 10000 characters"
    assert time.perf_counter() - started < TIME_LIMIT


@pytest.mark.parametrize(
    "source",
    [
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
        "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
        "{% macro spin(n) %}{% for i in range(100000) %}{% endfor %}{{ spin(n) if n else '' }}{% endmacro %}"
        "{% for i in range(100000) %}{{ spin(0) }}{% endfor %}",
    ],
)
async def test_a_slow_template_is_stopped_at_the_time_limit(renderer: TemplateRenderer, source: str) -> None:
    started = time.perf_counter()
    error = await failure(renderer, source, "title", xs=list(range(2000)))
    assert isinstance(error, RenderTooSlow)
    assert error.field == "title"
    assert error.description == f"took longer than the time limit of {TIME_LIMIT:g}s and was stopped"
    assert time.perf_counter() - started < TIME_LIMIT + 0.2


async def test_the_event_loop_keeps_running_while_templates_spin(renderer: TemplateRenderer) -> None:
    source = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    spinning = [asyncio.create_task(failure(renderer, source)) for _ in range(2)]
    await asyncio.sleep(0.05)
    gaps = []
    for _ in range(10):
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        gaps.append(time.perf_counter() - before - 0.01)
    await asyncio.gather(*spinning)
    assert max(gaps) < 0.05, gaps


async def test_a_deadline_interrupts_work_that_never_asks() -> None:
    """The backstop for work the sandbox's guards do not see: an exception injected into the thread."""
    runner = DeadlineRunner(threads=1, time_limit=TIME_LIMIT)
    stopped = threading.Event()

    def spin_forever() -> None:
        try:
            while True:
                pass
        finally:
            stopped.set()

    try:
        started = time.perf_counter()
        with pytest.raises(DeadlineExceeded):
            await runner.run(spin_forever)
        assert time.perf_counter() - started < TIME_LIMIT + 0.1
        assert await asyncio.to_thread(stopped.wait, 2.0)
        assert await runner.run(lambda: "the one thread is free again") == "the one thread is free again"
    finally:
        runner.close()


async def test_work_that_ends_just_in_time_leaves_no_interruption_behind() -> None:
    runner = DeadlineRunner(threads=1, time_limit=0.05)
    try:
        for _ in range(20):
            with contextlib.suppress(DeadlineExceeded):
                await runner.run(lambda: time.sleep(0.049))
        results = [await runner.run(lambda: sum(range(100_000))) for _ in range(5)]
        assert results == [sum(range(100_000))] * 5
    finally:
        runner.close()


@pytest.mark.parametrize(("part", "value"), [("subject", "a\r\nBcc: x"), ("title", "a\nb"), ("subject", "a\rb")])
async def test_subjects_and_titles_must_stay_on_one_line(renderer: TemplateRenderer, part: str, value: str) -> None:
    error = await failure(renderer, "Hi {{ v }}", part, v=value)
    assert isinstance(error, LineBreakInHeader)
    assert error.field == part
    assert (await renderer.render({"body": "{{ v }}"}, {"v": value}))["body"] == value


@pytest.mark.parametrize(("part", "value"), [("subject", "a\x00b"), ("title", "\x1b[31mred"), ("subject", "del\x7f")])
async def test_subjects_and_titles_hold_no_control_characters(
    renderer: TemplateRenderer, part: str, value: str
) -> None:
    error = await failure(renderer, "Hi {{ v }}", part, v=value)
    assert isinstance(error, ControlCharacterInHeader)
    assert error.field == part
    assert "control character U+" in error.description
    assert (await renderer.render({part: "Tab\t{{ v }}"}, {"v": "ok"}))[part] == "Tab\tok"  # a tab stays


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("a\n{{ 1 / 0 }}", "line 2: division by zero"),
        ("{{ range(1000000) }}", "line 1: Range too big"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "line 1: maximum recursion depth exceeded"),
        ("{% include 'other' %}", "line 1: no loader for this environment specified"),
        ("{{ lipsum() }}", None),
    ],
)
async def test_other_runtime_errors_are_typed_with_the_line(
    renderer: TemplateRenderer, source: str, message: str | None
) -> None:
    error = await failure(renderer, source)
    if message is None:
        assert isinstance(error, MissingVariable)  # lipsum is not offered
        return
    assert isinstance(error, RenderFailed)
    assert error.description.startswith(message), error.description


async def test_the_same_source_compiles_once(renderer: TemplateRenderer) -> None:
    parts = {"subject": "S {{ n }}", "body": "B {{ n }}", "html_body": "B {{ n }}"}
    assert not await renderer.check(parts)
    assert renderer.compiles == 3  # the html body is compiled apart: it escapes
    for n in range(5):
        assert (await renderer.render(parts, {"n": n}))["subject"] == f"S {n}"
    assert renderer.compiles == 3


async def test_the_compile_cache_is_bounded() -> None:
    small = TemplateRenderer(RenderLimits(cache_size=2))
    try:
        for source in ("a", "b", "c", "a"):
            await small.render({"body": source}, {})
        assert small.compiles == 4
        await small.render({"body": "a"}, {})
        assert small.compiles == 4
    finally:
        small.close()
