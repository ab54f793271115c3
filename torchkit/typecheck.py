"""Does a value (from TOML, JSON or a ``--set key=value``) fit a dataclass field's annotation?

Shared by the profile / suite schema (benchmarks/pipeline/schema.py) and RefinerConfig, so a
wrong type is refused the same way everywhere, by name, instead of failing later in an ``int()``
or deep in training. No torch; the annotations handled are the ones settings use: bool, int,
float (an int is a float; a bool is no number), str, ``X | None``, lists and tuples of those
(fixed length or ``...``), dicts.
"""

from __future__ import annotations

import numbers
import types
import typing
from typing import Any


def type_name(tp: Any) -> str:
    """How a message names an annotation: int, float | None, tuple[int, int]."""
    if typing.get_origin(tp) is None and hasattr(tp, "__name__"):
        return tp.__name__
    return str(tp).replace("typing.", "")


def type_ok(value: Any, tp: Any) -> bool:
    """Whether a TOML value fits a field annotation (int is a float; a bool is no number)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in args)
    if tp is type(None):
        return value is None
    if tp is Any:
        return True
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:  # numbers.Integral: numpy integers count too
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis and len(args) != len(value):
            return False
        item = args[0] if args else Any
        return all(type_ok(v, item) for v in value)
    if origin is dict or tp is dict:
        return isinstance(value, dict)
    return isinstance(value, tp)
