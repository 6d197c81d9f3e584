"""The Jinja2 environment templates are compiled in: an immutable sandbox with strict undefined variables, whose
every hook (operators, attribute and item access, calls, filters, ``~``, printing, namespace assignment, captured
blocks, and each iteration of a ``{% for %}`` loop) checks the render's deadline and refuses values past the size
limit; strings and numbers offer only the attributes of :mod:`templating.allowed`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, missing

from templating.allowed import allowed_attribute
from templating.guards import (
    BoundedBuffer,
    LimitExceeded,
    argument,
    bounded_result,
    check_deadline,
    checked_add,
    checked_multiply,
    checked_power,
    ensure_fits,
    ensure_format_fits,
    ensure_join_fits,
    ensure_method_fits,
    ensure_printable,
    ensure_printf_fits,
    ensure_weight_fits,
    guarded_iteration,
    replaced_size,
    weight,
)

LOOP_GUARD_FILTER = "__guarded_iteration__"
"""The filter every ``{% for %}`` loop's iterable is wrapped in at parse time."""


class MissingName(UndefinedError):
    """A variable (``obj`` is ``missing``) or an attribute or item of ``obj`` that the template used but that
    does not exist."""

    def __init__(self, message: str, obj: Any, name: Any) -> None:
        super().__init__(message)
        self.obj = obj
        self.name = name


class _StrictUndefined(StrictUndefined):
    """StrictUndefined whose failure says which name was missing (as :class:`MissingName`)."""

    __slots__ = ()

    def __init__(
        self,
        hint: str | None = None,
        obj: Any = missing,
        name: str | None = None,
        exc: type[Exception] = UndefinedError,
    ) -> None:
        super().__init__(hint, obj, name, exc)  # type: ignore[arg-type]
        if exc is UndefinedError:
            self._undefined_exception = self._missing  # type: ignore[assignment]

    def _missing(self, message: str) -> MissingName:
        return MissingName(message, self._undefined_obj, self._undefined_name)


class _GuardedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` so that each operand and the result go through ``environment.bounded``, and captures
    every block's output (macro, ``caller()``, set, filter, recursive loop) in a :class:`BoundedBuffer`."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.capture_buffer()")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.bounded({join}((")
        for operand in node.nodes:
            self.write("environment.bounded(")
            self.visit(operand, frame)
            self.write("), ")
        self.write(")))")


Bound = Callable[[int, tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]
"""Checks a filter's arguments against the size limit; returns the (possibly materialised) arguments."""


def _printed(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if args:
        ensure_weight_fits(args[0], limit, "printing a value")
    return args


def _center(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    width = argument(args, kwargs, 1, "width", 80)
    ensure_fits(width if isinstance(width, int) else 0, limit, "center")
    return _printed(limit, args, kwargs)


def _indent(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    _printed(limit, args, kwargs)
    text = str(args[0]) if args else ""
    width = argument(args, kwargs, 1, "width", 4)
    per_line = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    ensure_fits(len(text) + (text.count("\n") + 2) * max(per_line, 0), limit, "indent")
    return args


def _format(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if args and isinstance(args[0], str):
        ensure_printf_fits(args[0], kwargs or tuple(args[1:]), limit)
    return args


def _join(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    if not args:
        return args
    items = list(args[0])
    ensure_join_fits(argument(args, kwargs, 1, "d", ""), items, limit, "join")
    return (items, *args[1:])


def _replace(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    _printed(limit, args, kwargs)
    if len(args) >= 3:
        size = replaced_size(str(args[0]), str(args[1]), str(args[2]), argument(args, kwargs, 3, "count", None))
        ensure_fits(size, limit, "replace")
    return args


def _sum(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    start = argument(args, kwargs, 2, "start", 0)
    if not args or isinstance(start, int | float):
        return args
    items = list(args[0])
    ensure_join_fits("", [start, *items], limit, "sum")
    return (items, *args[1:])


def _wordwrap(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    _printed(limit, args, kwargs)
    text = str(args[0]) if args else ""
    width = argument(args, kwargs, 1, "width", 79)
    wrap = argument(args, kwargs, 3, "wrapstring", None)
    lines = 2 * len(text) // max(width if isinstance(width, int) else 1, 1) + 2 * (text.count("\n") + 1)
    ensure_fits(len(text) + lines * len(str(wrap or "\n")), limit, "wordwrap")
    return args


def _count(what: str, name: str, index: int) -> Bound:
    def bound(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        count = argument(args, kwargs, index, name, 0)
        ensure_fits(count if isinstance(count, int) else 0, limit, what)
        return args

    return bound


def _urlize(limit: int, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    _printed(limit, args, kwargs)
    text = str(args[0]) if args else ""
    extra = sum(len(str(argument(args, kwargs, i, n, None) or "")) for i, n in ((3, "target"), (4, "rel")))
    ensure_fits(3 * len(text) + (len(text) // 4 + 1) * (64 + extra), limit, "urlize")
    return args


_FILTER_BOUNDS: dict[str, Bound] = {
    "center": _center,
    "indent": _indent,
    "format": _format,
    "join": _join,
    "replace": _replace,
    "sum": _sum,
    "wordwrap": _wordwrap,
    "batch": _count("batch", "linecount", 1),
    "slice": _count("slice", "slices", 1),
    "urlize": _urlize,
    **dict.fromkeys(
        (
            "string",
            "tojson",
            "pprint",
            "escape",
            "e",
            "forceescape",
            "safe",
            "upper",
            "lower",
            "title",
            "capitalize",
            "trim",
            "striptags",
            "truncate",
            "wordcount",
            "urlencode",
            "xmlattr",
        ),
        _printed,
    ),
}


class _BoundedNamespace(Namespace):
    """``namespace()``: the one object a loop can accumulate into, so every assignment is size-checked."""

    limit: int = 0

    def __setitem__(self, name: str, value: Any) -> None:
        check_deadline()
        limit = type(self).limit
        ensure_fits(weight(value, limit), limit, f"assigning namespace attribute {name!r}")
        super().__setitem__(name, value)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox of one escaping mode (HTML autoescaped or plain text), with ``max_chars`` as the limit of
    every value a template builds."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _GuardedCodeGenerator

    def __init__(self, *, autoescape: bool, max_chars: int) -> None:
        super().__init__(
            autoescape=autoescape,
            undefined=_StrictUndefined,
            finalize=self._finalize,
            cache_size=0,
            auto_reload=False,
        )
        self.max_chars = max_chars
        del self.globals["lipsum"]
        self.globals["namespace"] = type("namespace", (_BoundedNamespace,), {"limit": max_chars})
        for name, original in self.filters.items():
            self.filters[name] = self._guard_filter(name, original, _FILTER_BOUNDS.get(name))
        self.filters[LOOP_GUARD_FILTER] = guarded_iteration

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then wrap each loop's iterable so every iteration checks the deadline (a loop whose body
        calls nothing would otherwise never ask)."""
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, LOOP_GUARD_FILTER, [], [], None, None, lineno=loop.lineno)
        return tree

    def _guard_filter(self, name: str, original: Callable[..., Any], bound: Bound | None) -> Callable[..., Any]:
        """``original`` checking the deadline, its arguments against ``bound`` (if the filter grows a value by
        its arguments) and its result against the limit."""
        lead = 1 if getattr(original, "jinja_pass_arg", None) is not None else 0
        limit = self.max_chars
        what = f"the {name} filter"

        @functools.wraps(original)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            check_deadline()
            if bound is not None:
                args = (*args[:lead], *bound(limit, args[lead:], kwargs))
            return bounded_result(original(*args, **kwargs), limit, what)

        return guarded

    def _finalize(self, value: Any) -> Any:
        check_deadline()
        ensure_printable(value, self.max_chars, "printing a value")
        return value

    def bounded(self, value: Any) -> Any:
        """``value`` unless it would print past the limit, or is a function (each ``~`` operand and result)."""
        ensure_printable(value, self.max_chars, "concatenating with ~")
        return value

    def capture_buffer(self) -> BoundedBuffer:
        """A new buffer for a block's output (the compiled code of every captured block calls this)."""
        return BoundedBuffer(self.max_chars)

    def concat(self, chunks: Iterable[Any]) -> str:
        """Join a block's output, refused once it passes the limit (a buffer is bounded as it fills; a block
        rendered again with ``self.<block>()`` is joined from a generator)."""
        if not isinstance(chunks, BoundedBuffer):
            bounded = self.capture_buffer()
            bounded.extend(chunks)
            chunks = bounded
        return "".join(chunks)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        """Strings and numbers by the allow-list of :mod:`templating.allowed` (bytes: nothing); every other
        object by the sandbox's own rules."""
        allowed = allowed_attribute(obj, attr)
        if allowed is not None:
            return allowed
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """What a refused attribute becomes: an error naming it when used (``str.encode is not allowed``)."""
        if attribute.startswith("_") or allowed_attribute(obj, attribute) is None:
            return super().unsafe_undefined(obj, attribute)
        message = f"{type(obj).__name__}.{attribute} is not allowed in templates"
        return self.undefined(message, obj=obj, name=attribute, exc=SecurityError)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        if operator == "*":
            return checked_multiply(left, right, self.max_chars)
        if operator == "**":
            return checked_power(left, right)
        if operator == "+":
            return checked_add(left, right, self.max_chars)
        if isinstance(left, str):
            ensure_printf_fits(left, right, self.max_chars)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_deadline()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        template: str = value.__self__
        is_format_map = value.__name__ == "format_map"
        limit = self.max_chars

        def guarded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                mapping = args[0] if args and isinstance(args[0], Mapping) else {}
                ensure_format_fits(template, (), mapping, limit)
            else:
                ensure_format_fits(template, args, kwargs, limit)
            return wrapper(*args, **kwargs)

        return guarded

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        receiver = getattr(__obj, "__self__", None)
        method = getattr(__obj, "__name__", "")
        if method == "join" and isinstance(receiver, str) and args:
            items = list(args[0])
            ensure_join_fits(receiver, items, __self.max_chars, "join()")
            args = (items, *args[1:])
        else:
            ensure_method_fits(receiver, method, args, kwargs, __self.max_chars)
        result = super().call(__context, __obj, *args, **kwargs)
        return bounded_result(result, __self.max_chars, f"{method}()" if method else "a call")


__all__ = ["LimitExceeded", "LimitedSandbox", "MissingName"]
