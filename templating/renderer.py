"""The sandboxed renderer: compiles template parts once (cached by content), renders them with a time limit
and an output cap, and turns every failure into a typed :class:`TemplateError`.

A template is a set of named parts (``subject``, ``body``, ``html_body``, ``title``, ``data.<key>``). Only
``html_body`` is autoescaped; ``subject`` and ``title`` must render to one line.

Where a render runs: a template whose parts are all compiled already and none of which can run away (no loop,
macro or call, and a short source: see :func:`_straight_line`) renders right on the caller's thread, in tens of
microseconds, with the sandbox's own deadline checks at ``inline_time_limit``; should one still pass it, it is
rendered again on the thread path, and never inline after if it really worked that long. Everything else (and
every compile) runs on the render threads of :mod:`templating.deadline`, whose deadline also interrupts
code the guards do not see.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from jinja2 import Template, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.utils import missing
from prometheus_client import Counter, Histogram

from common.metrics import LATENCY_BUCKETS
from templating.deadline import DeadlineExceeded, DeadlineRunner
from templating.errors import (
    CompileError,
    ControlCharacterInHeader,
    LineBreakInHeader,
    MissingVariable,
    OutputTooLarge,
    RefusedConstruct,
    RenderFailed,
    RenderTooSlow,
    TemplateError,
)
from templating.guards import DEFAULT_MAX_CHARS, Interrupted, set_deadline
from templating.sandbox import LimitedSandbox, MissingName

HTML_PARTS = frozenset({"html_body"})
"""Parts rendered with HTML autoescaping."""

SINGLE_LINE_PARTS = frozenset({"subject", "title"})
"""Parts that become a header or a notification title: one line of printable text."""
_CONTROL_CHARACTER = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _check_single_line(part: str, text: str) -> None:
    if "\r" in text or "\n" in text:
        raise LineBreakInHeader(part)
    if found := _CONTROL_CHARACTER.search(text):
        raise ControlCharacterInHeader(part, found.group())


RENDER_SECONDS = Histogram(
    "template_render_seconds",
    "Time to render one template (every part), by outcome.",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
COMPILE_CACHE = Counter(
    "template_compile_cache",
    "Compiled-template cache lookups: hit (reused) or miss (compiled).",
    ["result"],
)
RENDERS = Counter(
    "template_renders",
    "Renders by where they ran: inline (on the caller's thread) or thread (the deadline runner).",
    ["path"],
)

INLINE_MAX_SOURCE = 8192
"""The longest part source that may render inline: with no loop, the work of a render is bounded by its nodes."""

_RUNAWAY_NODES = (nodes.For, nodes.Macro, nodes.CallBlock, nodes.Call, nodes.FilterBlock)
"""Nodes that repeat work or run code the guards see only from outside (a call): such a part renders on a thread."""

_PATH_SEARCH_BUDGET = 10_000

T = TypeVar("T")


@dataclass(frozen=True)
class RenderLimits:
    """How much a template may do: output characters per part, seconds per call, threads, cached templates."""

    max_chars: int = DEFAULT_MAX_CHARS
    time_limit: float = 1.0
    threads: int = 4
    cache_size: int = 1024
    inline_time_limit: float = 0.05
    """How long an inline render may hold the caller's thread before it is stopped and redone on a thread."""


class _Progress:
    """Which part a job is working on, so a timeout can name it."""

    part = "template"


@dataclass
class _Compiled:
    """A compiled part, and whether it may render on the caller's thread."""

    template: Template
    inline: bool


def _straight_line(tree: nodes.Template, source: str) -> bool:
    """Whether a part can only do a bounded amount of work: no loop, macro, call block, filter block or call,
    and a source of at most :data:`INLINE_MAX_SOURCE` characters."""
    return len(source) <= INLINE_MAX_SOURCE and next(tree.find_all(_RUNAWAY_NODES), None) is None


def _template_line(error: BaseException) -> int | None:
    """The template line an error was raised at (Jinja rewrites tracebacks to template lines)."""
    line = None
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _path_of(target: Any, root: Mapping[str, Any]) -> str | None:
    """The dotted path (``order.items[1]``) of the object ``target`` inside ``root``, if it is there."""
    queue: deque[tuple[str, Any]] = deque((str(key), value) for key, value in root.items())
    for _ in range(_PATH_SEARCH_BUDGET):
        if not queue:
            break
        path, value = queue.popleft()
        if value is target:
            return path
        if isinstance(value, Mapping):
            queue.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list | tuple):
            queue.extend((f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


def _missing_path(error: MissingName, context: Mapping[str, Any]) -> str:
    if error.obj is missing:
        return str(error.name)
    owner = _path_of(error.obj, context)
    if owner is None:
        return str(error.name)
    return f"{owner}[{error.name}]" if isinstance(error.name, int) else f"{owner}.{error.name}"


def _translate(part: str, error: Exception, context: Mapping[str, Any]) -> TemplateError:
    line = _template_line(error)
    if isinstance(error, MissingName):
        return MissingVariable(part, _missing_path(error, context), line)
    if isinstance(error, SecurityError):
        return RefusedConstruct(part, line, str(error))
    if isinstance(error, TemplateSyntaxError):
        return CompileError(part, error.lineno, error.message or str(error))
    return RenderFailed(part, line, str(error) or type(error).__name__)


class TemplateRenderer:
    """Compiles and renders template parts in the sandbox. One per process; safe to share between tasks."""

    def __init__(self, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        self._environments = {
            autoescape: LimitedSandbox(autoescape=autoescape, max_chars=self.limits.max_chars)
            for autoescape in (False, True)
        }
        self._cache: OrderedDict[tuple[bool, str], _Compiled] = OrderedDict()
        self._lock = threading.Lock()
        self._runner = DeadlineRunner(threads=self.limits.threads, time_limit=self.limits.time_limit)
        self.compiles = 0
        """How many times a part was compiled (a cache miss)."""

    async def check(self, parts: Mapping[str, str]) -> list[CompileError]:
        """Compile every part; the errors of the parts that do not compile (empty when all do)."""
        progress = _Progress()

        def work() -> list[CompileError]:
            errors = []
            for part, source in parts.items():
                progress.part = part
                try:
                    self._compiled(part, source)
                except CompileError as error:
                    errors.append(error)
            return errors

        return await self._run(work, progress)

    async def render(self, parts: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
        """Every part rendered with ``context``; raises a :class:`TemplateError` naming what is wrong."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            compiled = self._inline_parts(parts)
            if compiled is not None:
                rendered = self._render_inline(compiled, context)
                if rendered is not None:
                    return rendered
            return await self._render_on_thread(parts, context)
        except TemplateError as error:
            outcome = type(error).__name__
            raise
        finally:
            RENDER_SECONDS.labels(outcome).observe(time.perf_counter() - started)

    async def _render_on_thread(self, parts: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
        progress = _Progress()

        def work() -> dict[str, str]:
            rendered = {}
            for part, source in parts.items():
                progress.part = part
                rendered[part] = self._render_part(part, source, context)
            return rendered

        RENDERS.labels("thread").inc()
        return await self._run(work, progress)

    def _inline_parts(self, parts: Mapping[str, str]) -> dict[str, _Compiled | None] | None:
        """Each part compiled (None for an empty one) when every part is cached and may render inline, else None."""
        found: dict[str, _Compiled | None] = {}
        with self._lock:
            for part, source in parts.items():
                compiled = self._cache.get((part in HTML_PARTS, source)) if source else None
                if source and (compiled is None or not compiled.inline):
                    return None
                found[part] = compiled
        return found

    def _render_inline(
        self, compiled: Mapping[str, _Compiled | None], context: Mapping[str, Any]
    ) -> dict[str, str] | None:
        """Render on this thread under the inline deadline; None when the deadline passed, so the caller renders
        on a thread. Parts that spent half the limit in CPU time never render inline again; a render that only
        waited for the CPU (a descheduled thread on a busy machine) does not count against them."""
        rendered: dict[str, str] = {}
        limit = self.limits.inline_time_limit
        started = time.thread_time()
        set_deadline(time.monotonic() + limit)
        try:
            for part, entry in compiled.items():
                rendered[part] = self._render_compiled(part, entry.template, context) if entry else ""
        except Interrupted:
            if time.thread_time() - started >= limit / 2:  # it worked that long: not just a busy machine
                for entry in compiled.values():
                    if entry is not None:
                        entry.inline = False
            return None
        finally:
            set_deadline(float("inf"))
        COMPILE_CACHE.labels("hit").inc(len(compiled))
        RENDERS.labels("inline").inc()
        return rendered

    def close(self) -> None:
        """Release the render threads."""
        self._runner.close()

    async def _run(self, work: Callable[[], T], progress: _Progress) -> T:
        try:
            return await self._runner.run(work)
        except DeadlineExceeded:
            raise RenderTooSlow(progress.part, self.limits.time_limit) from None

    def _compiled(self, part: str, source: str) -> Template:
        key = (part in HTML_PARTS, source)
        with self._lock:
            compiled = self._cache.get(key)
            if compiled is not None:
                self._cache.move_to_end(key)
        if compiled is not None:
            COMPILE_CACHE.labels("hit").inc()
            return compiled.template
        COMPILE_CACHE.labels("miss").inc()
        environment = self._environments[key[0]]
        try:
            tree = environment.parse(source)
            compiled = _Compiled(environment.from_string(tree), _straight_line(tree, source))
        except TemplateSyntaxError as error:
            raise CompileError(part, error.lineno, error.message or str(error)) from None
        except (RecursionError, MemoryError, SyntaxError) as error:  # Python's own limits (20 nested loops)
            reason = error.msg if isinstance(error, SyntaxError) else type(error).__name__
            raise CompileError(part, None, f"too complex to compile ({reason})") from None
        with self._lock:
            self.compiles += 1
            self._cache[key] = compiled
            while len(self._cache) > self.limits.cache_size:
                self._cache.popitem(last=False)
        return compiled.template

    def _render_part(self, part: str, source: str, context: Mapping[str, Any]) -> str:
        if not source:
            return ""
        return self._render_compiled(part, self._compiled(part, source), context)

    def _render_compiled(self, part: str, template: Template, context: Mapping[str, Any]) -> str:
        limit = self.limits.max_chars
        chunks: list[str] = []
        size = 0
        stream = cast(Generator[str, None, None], template.generate(context))
        try:
            for chunk in stream:
                if not chunk:
                    continue  # a loop printing nothing must not grow the list
                size += len(chunk)
                if size > limit:
                    raise OutputTooLarge(part, limit)
                chunks.append(chunk)
        except TemplateError:
            raise
        except Exception as error:
            raise _translate(part, error, context) from None
        finally:
            stream.close()
        text = "".join(chunks)
        if part in SINGLE_LINE_PARTS:
            _check_single_line(part, text)
        return text
