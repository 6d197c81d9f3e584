"""What a template sees: the caller's variables plus ``user`` (name, email, locale of the recipient)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict

from templating.errors import USER_NAME, TemplateError

_EXACT_FLOAT_INT = 2**53


def _restore_integers(value: Any) -> Any:
    """JSON numbers travel in a ``Struct`` as doubles; give whole numbers back their integer form, so
    ``{{ count }}`` prints ``3`` rather than ``3.0``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_FLOAT_INT:
        return int(value)
    if isinstance(value, dict):
        return {key: _restore_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore_integers(item) for item in value]
    return value


def variables_from_struct(struct: struct_pb2.Struct) -> dict[str, Any]:
    """The caller's variables as plain Python values; :class:`TemplateError` on ``variables`` for NaN or an
    infinity, which a ``Struct`` can carry but JSON cannot."""
    try:
        converted: dict[str, Any] = _restore_integers(MessageToDict(struct))
    except ValueError:
        raise TemplateError("variables", "must not hold NaN or an infinity") from None
    return converted


def _as_struct_value(value: Any) -> Any:
    """``value`` as it comes back out of a ``Struct``: every number a double, whole ones given back their
    integer form."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        number = float(value)  # OverflowError past a double, as a Struct refuses it
        if not math.isfinite(number):
            raise ValueError("NaN and infinities are not JSON numbers")  # nor can a Struct carry them
        return int(number) if number.is_integer() and abs(number) < _EXACT_FLOAT_INT else number
    if isinstance(value, Mapping):
        return {str(key): _as_struct_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_as_struct_value(item) for item in value]
    raise TypeError(f"a {type(value).__name__} is not a JSON value")


def variables_from_json(variables: Mapping[str, Any]) -> dict[str, Any]:
    """The caller's variables, parsed from JSON, exactly as :func:`variables_from_struct` gives them after a trip
    through a ``Struct`` (what a template sees does not depend on where it is rendered). Raises
    ``OverflowError`` for a number no double can hold and ``ValueError`` for NaN or an infinity."""
    converted: dict[str, Any] = _as_struct_value(variables)
    return converted


def render_context(variables: Mapping[str, Any], user: Mapping[str, str]) -> dict[str, Any]:
    """The names a template sees: every variable, and ``user`` (which a variable of that name cannot hide)."""
    return {**variables, USER_NAME: dict(user)}
