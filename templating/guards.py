"""Size and time guards the sandbox applies before it lets a template build a value.

Template authors are not trusted: ``'a' * 10**9``, ``'%0999999999d' % 1`` or ``s.center(10**9)`` would each
allocate gigabytes inside one C call, where no time limit can stop them. Every operation that can grow a value
by its arguments is checked here first, against the same limit as the output, and refused with
:class:`LimitExceeded` when it would pass it; every value a call or filter returns, and every block a template
captures, is checked as it is built, so that a chain of steps that each grow a value by a small factor is
refused at the step that passes the limit, before the next one can multiply it.
"""

from __future__ import annotations

import math
import re
import string
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, MappingView
from typing import Any, cast

from jinja2.exceptions import SecurityError
from jinja2.runtime import Undefined
from jinja2.utils import Namespace

DEFAULT_MAX_CHARS = 256 * 1024
"""The default output cap and size limit: 256 Ki characters."""

MAX_INT_BITS = 14_300
"""The largest integer a template may compute: Python refuses to print more than 4300 digits anyway."""

_GENERIC_REPR = 32
"""What an object that is not a string, number or container is assumed to print as."""


class LimitExceeded(SecurityError):
    """An operation the sandbox refused because its result would be too large."""


class Interrupted(BaseException):
    """Raised inside a render thread when its deadline passed (by a guard, or injected from outside).

    A ``BaseException`` so that no ``except Exception`` in Jinja or a filter swallows it.
    """


YIELD_AFTER_SECONDS = 0.01
YIELD_INTERVAL_SECONDS = 0.001
"""A render that runs longer than ``YIELD_AFTER_SECONDS`` lets go of the GIL every ``YIELD_INTERVAL_SECONDS``,
so the event loop's thread keeps answering (left to the interpreter, it would wait up to 5 ms for the GIL
after every system call). Short renders, nearly all of them, never pay for it."""


class _RenderState(threading.local):
    deadline: float = math.inf
    next_yield: float = math.inf


_state = _RenderState()


def set_deadline(deadline: float) -> None:
    """Make the current thread's guards raise :class:`Interrupted` once ``time.monotonic()`` passes
    ``deadline`` (``math.inf``: never), and start yielding the GIL if it runs long."""
    _state.deadline = deadline
    _state.next_yield = time.monotonic() + YIELD_AFTER_SECONDS


def check_deadline() -> None:
    """Raise :class:`Interrupted` when the current thread's render is past its deadline; in a long render,
    let the other threads (the event loop's) take the GIL now and then."""
    now = time.monotonic()
    state = _state
    if now > state.deadline:
        raise Interrupted
    if now > state.next_yield:
        state.next_yield = now + YIELD_INTERVAL_SECONDS
        time.sleep(0)


def guarded_iteration(iterable: Iterable[Any]) -> Iterator[Any]:
    """``iterable``, checking the deadline before the first item and every 64th after it (every
    ``{% for %}`` loop iterates through this)."""
    for count, item in enumerate(iterable):
        if not count & 63:
            check_deadline()
        yield item


def ensure_fits(size: int, limit: int, what: str) -> None:
    """Refuse an operation whose result would be ``size`` characters when that is over ``limit``."""
    if size > limit:
        raise LimitExceeded(f"{what} would produce {size} characters or more, over the limit of {limit}")


def _iterate(value: Any) -> Iterator[Any] | None:
    """The parts of a container that ``str()`` would print, or None for a leaf."""
    if isinstance(value, Mapping):
        return iter(value.items())
    if isinstance(value, list | tuple | set | frozenset | MappingView):
        return iter(cast(Iterable[Any], value))
    if isinstance(value, Namespace):
        return iter(object.__getattribute__(value, "_Namespace__attrs").items())
    return None


def _leaf_weight(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 30103 // 100000 + 2
    if isinstance(value, float):
        return 24
    return _GENERIC_REPR


def weight(value: Any, limit: int) -> int:
    """About how many characters ``str(value)`` would print, counting shared references each time they
    occur (``[[x] * 1000] * 1000`` prints ``x`` a million times). Stops counting once past ``limit``."""
    total = -2  # the value itself has no separator
    stack: list[Iterator[Any]] = [iter((value,))]
    while stack:
        try:
            item = next(stack[-1])
        except StopIteration:
            stack.pop()
            continue
        parts = _iterate(item)
        if parts is None:
            total += _leaf_weight(item) + 2
        else:
            total += 2
            stack.append(parts)
        if total > limit:
            break
    return total


def ensure_weight_fits(value: Any, limit: int, what: str) -> None:
    """Refuse ``value`` when it would print more than ``limit`` characters."""
    ensure_fits(weight(value, limit), limit, what)


def ensure_printable(value: Any, limit: int, what: str) -> None:
    """Refuse turning a function or method into text (its text is an address, never content), or a value that
    would print more than ``limit`` characters."""
    if isinstance(value, str):
        ensure_fits(len(value), limit, what)
    elif callable(value) and not isinstance(value, Undefined):  # an Undefined raises its own error when printed
        raise SecurityError(f"{what}: a function or method is not allowed here (call it)")
    else:
        ensure_weight_fits(value, limit, what)


def bounded_items(items: Iterator[Any], limit: int, what: str) -> Iterator[Any]:
    """``items``, refused once the items produced so far would print more than ``limit`` characters together:
    a lazy sequence (``map``, ``select``, ``batch``) can be turned into a list or joined in one step."""
    total = 0
    for count, item in enumerate(items):
        if not count & 63:
            check_deadline()
        total += weight(item, limit - total) + 2
        ensure_fits(total, limit, what)
        yield item


def bounded_result(value: Any, limit: int, what: str) -> Any:
    """``value`` (what a call or filter returned) unless it would print past ``limit``; a lazy sequence is
    returned bounded by :func:`bounded_items`, so the next step cannot build it past the limit either."""
    if isinstance(value, str):
        ensure_fits(len(value), limit, what)
    elif isinstance(value, Iterator):
        return bounded_items(value, limit, what)
    else:
        ensure_fits(weight(value, limit), limit, what)
    return value


class BoundedBuffer(list[Any]):
    """Where a macro, ``caller()``, ``{% set %}`` block, ``{% filter %}`` block or recursive loop captures its
    output (and where ``self.<block>()`` joins a block's): refuses the chunk that would take it past the limit,
    before the text is joined, so a block's text is never larger than a rendered part may be."""

    __slots__ = ("limit", "size")

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.size = 0

    def append(self, chunk: Any) -> None:
        if isinstance(chunk, str):
            if not chunk:
                return  # joins the same, and a loop printing nothing would otherwise grow the list
            self.size += len(chunk)
        else:
            self.size += weight(chunk, self.limit - self.size)
        ensure_fits(self.size, self.limit, "capturing a block's output (macro, caller(), set, filter or block)")
        super().append(chunk)

    def extend(self, chunks: Iterable[Any]) -> None:
        for chunk in chunks:
            self.append(chunk)


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def checked_multiply(left: Any, right: Any, limit: int) -> Any:
    """``left * right`` unless it would repeat a sequence past ``limit`` or build a huge integer."""
    if isinstance(left, int) and not isinstance(right, int):
        left, right = right, left
    if isinstance(right, int) and isinstance(left, str | list | tuple):
        ensure_fits(weight(left, limit) * max(right, 0), limit, "repeating a sequence with *")
    elif isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise LimitExceeded(f"the product would have more than {MAX_INT_BITS} bits")
    return left * right


def checked_power(base: Any, exponent: Any) -> Any:
    """``base ** exponent`` unless it would build an integer of more than :data:`MAX_INT_BITS` bits."""
    huge = isinstance(exponent, int) and exponent > 0 and isinstance(base, int) and abs(base) > 1
    if huge and exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise LimitExceeded(f"the power would have more than {MAX_INT_BITS} bits")
    return base**exponent


def checked_add(left: Any, right: Any, limit: int) -> Any:
    """``left + right`` unless it would concatenate sequences past ``limit``."""
    if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
        ensure_fits(weight(left, limit) + weight(right, limit), limit, "concatenating with +")
    return left + right


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def _largest_argument(args: Any, limit: int) -> int:
    if isinstance(args, tuple):
        return max((weight(arg, limit) for arg in args), default=0)
    if isinstance(args, Mapping):
        return max((weight(arg, limit) for arg in args.values()), default=0)
    return weight(args, limit)


def ensure_printf_fits(template: str, args: Any, limit: int) -> None:
    """Refuse ``template % args`` when its widths, precisions or arguments could print past ``limit``."""
    fields = 0
    widest = 0
    for match in _PRINTF_SPEC.finditer(template):
        width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        if "*" in (width, precision):
            raise LimitExceeded("'*' widths are not allowed in % formatting")
        fields += 1
        widest = max(widest, int(width or 0), int(precision or 0))
    if fields:
        widest = max(widest, _largest_argument(args, limit))
        ensure_fits(len(template) + fields * widest, limit, "% formatting")


_DIGITS = re.compile(r"\d+")


def ensure_format_fits(template: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], limit: int) -> None:
    """Refuse ``template.format(*args, **kwargs)`` when its fields could print past ``limit``."""
    fields = 0
    widest = 0
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return  # str.format raises the same error itself
    for _, field, spec, _ in parsed:
        if field is None:
            continue
        if spec and "{" in spec:
            raise LimitExceeded("nested replacement fields are not allowed in a format specification")
        fields += 1
        widest = max([widest, *(int(digits) for digits in _DIGITS.findall(spec or ""))])
    if fields:
        widest = max(widest, _largest_argument(args, limit), _largest_argument(kwargs, limit))
        ensure_fits(len(template) + fields * widest, limit, "str.format")


def replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    """How long ``text.replace(old, new, count)`` would be."""
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    hits = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any) -> Any:
    """The argument at position ``index`` or named ``name``."""
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def ensure_method_fits(
    receiver: Any, method: str, args: tuple[Any, ...], kwargs: Mapping[str, Any], limit: int
) -> None:
    """Refuse a call of a string method that would build a result past ``limit`` (the methods that grow a
    string by their arguments; every other one a template may call grows it by a small factor at most, which
    the check of its result catches)."""
    if not isinstance(receiver, str):
        return
    if method in ("center", "ljust", "rjust", "zfill"):
        ensure_fits(_int(argument(args, kwargs, 0, "width", 0)), limit, f"{method}()")
    elif method == "replace":
        old, new = argument(args, kwargs, 0, "old", ""), argument(args, kwargs, 1, "new", "")
        ensure_fits(replaced_size(receiver, old, new, argument(args, kwargs, 2, "count", -1)), limit, "replace()")


def ensure_join_fits(separator: Any, items: list[Any], limit: int, what: str) -> None:
    """Refuse joining ``items`` with ``separator`` when the result would pass ``limit``."""
    total = len(separator) * max(len(items) - 1, 0) if isinstance(separator, str) else 0
    for item in items:
        total += weight(item, limit)
        ensure_fits(total, limit, what)
    ensure_fits(total, limit, what)
