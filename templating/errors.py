"""The errors a render or compile can end in. Each names the field that is wrong (REST naming: ``body``,
``data.url``, ``variables.name``) and says what is wrong with it, so a server can answer ``INVALID_ARGUMENT``
with a ``google.rpc.BadRequest`` field violation without knowing anything about Jinja."""

from __future__ import annotations

USER_NAME = "user"
"""The one top-level name templates see besides the caller's variables: the recipient."""


class TemplateError(Exception):
    """A template that cannot be compiled or rendered; ``field`` and ``description`` say why."""

    def __init__(self, field: str, description: str) -> None:
        super().__init__(f"{field}: {description}")
        self.field = field
        self.description = description


def _located(line: int | None, message: str) -> str:
    return f"line {line}: {message}" if line else message


class CompileError(TemplateError):
    """A part that is not valid Jinja: the line and the parser's message."""

    def __init__(self, part: str, line: int | None, message: str) -> None:
        super().__init__(part, _located(line, message))
        self.part = part
        self.line = line


class MissingVariable(TemplateError):
    """A variable the template uses that the caller did not pass; ``path`` is its dotted name."""

    def __init__(self, part: str, path: str, line: int | None) -> None:
        field = path if path == USER_NAME or path.startswith(USER_NAME + ".") else f"variables.{path}"
        super().__init__(field, f"is used by {part}{f' line {line}' if line else ''} but was not given")
        self.part = part
        self.path = path


class RefusedConstruct(TemplateError):
    """The sandbox refused what the template tried: an unsafe attribute, a call, or an operation whose result
    would be too large."""

    def __init__(self, part: str, line: int | None, message: str) -> None:
        super().__init__(part, _located(line, message))
        self.part = part


class RenderFailed(TemplateError):
    """Any other error raised while rendering (a division by zero, a wrong type for a filter)."""

    def __init__(self, part: str, line: int | None, message: str) -> None:
        super().__init__(part, _located(line, message))
        self.part = part


class OutputTooLarge(TemplateError):
    """The rendered part grew past the output cap; rendering stopped there."""

    def __init__(self, part: str, limit: int) -> None:
        super().__init__(part, f"renders more than {limit} characters")
        self.part = part


class RenderTooSlow(TemplateError):
    """Rendering (or compiling) took longer than the time limit and was stopped."""

    def __init__(self, part: str, seconds: float) -> None:
        super().__init__(part, f"took longer than the time limit of {seconds:g}s and was stopped")
        self.part = part


class LineBreakInHeader(TemplateError):
    """A rendered subject or title that contains CR or LF (header injection)."""

    def __init__(self, part: str) -> None:
        super().__init__(part, "must not contain a line break (CR or LF) once rendered")
        self.part = part


class ControlCharacterInHeader(TemplateError):
    """A rendered subject or title that contains a control character other than tab (NUL, ESC, DEL, ...)."""

    def __init__(self, part: str, character: str) -> None:
        super().__init__(part, f"must not contain the control character U+{ord(character):04X} once rendered")
        self.part = part
