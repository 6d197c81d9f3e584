"""How one definition of an API call becomes a method of both clients. A resource class defines each call once,
as a function building a :class:`Call`; the :class:`endpoint` and :class:`paginated` descriptors turn it into a
blocking method on ``Resource[Sync]`` and a coroutine method on ``Resource[Async]``, typed for each (the
parameters come through unchanged with ``ParamSpec``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from notify_client._call import Call
from notify_client._transport import AsyncExecutor, SyncExecutor
from notify_client.models import Page

P = ParamSpec("P")
T = TypeVar("T")


class Sync:
    """Marks resources bound to the blocking client."""


class Async:
    """Marks resources bound to the async client."""


ModeT = TypeVar("ModeT", Sync, Async)


class Resource(Generic[ModeT]):
    """A group of calls (notifications, users, ...) bound to one client's executor."""

    def __init__(self, executor: SyncExecutor | AsyncExecutor) -> None:
        self._executor = executor


class endpoint(Generic[P, T]):
    """A call defined once, run by whichever client its resource belongs to."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self.build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            return obj._executor.run(self.build(obj, *args, **kwargs))

        bound.__doc__ = self.build.__doc__
        return bound


class paginated(Generic[P, T]):
    """Every item of a cursor-paginated list, page after page: an iterator on the blocking client, an async
    iterator on the async one. ``build`` takes a ``cursor`` keyword; one given by the caller is where to start."""

    def __init__(self, build: Callable[Concatenate[Any, P], Call[Page[T]]]) -> None:
        self.build = build

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, Iterator[T]]: ...

    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...

    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
            start = kwargs.pop("cursor", None)

            def page(cursor: str | None) -> Call[Page[T]]:
                return self.build(obj, *args, **kwargs, cursor=cursor)  # type: ignore[arg-type]

            return obj._executor.iterate(page, start)  # type: ignore[arg-type]

        return bound
