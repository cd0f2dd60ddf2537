"""The spec schema: field types checked and converted from the op dataclasses' annotations,
and the keys each part of a spec may carry."""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from typing import Any, Literal

import numpy as np

from . import limits, ops
from .errors import CostcalcError, did_you_mean
from .expr import Unknown
from .ops import OPS, ParamCounts
from .width import ROUNDING, _exact


class FieldError(CostcalcError):
    """A value that does not fit its field; the spec loader adds file, line and the field."""


class Number:
    """Type hint of a block argument: an int where the value is whole (unless it was written as
    a float literal such as 6.0), else a float."""


Evaluate = Callable[[str], Any]

_YAML_BOOL_HINT = "YAML reads yes/no/on/off/true/false as booleans"


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} ({_YAML_BOOL_HINT})"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def _kind(value: Any) -> str:
    """'i' (integers), 'f' (floats), 'b' (booleans) for a number or a numpy array."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind
    if isinstance(value, bool | np.bool_):
        return "b"
    if isinstance(value, int | np.integer):
        return "i"
    return "f" if isinstance(value, float | np.floating) else ""


def _below(value: Any, bound: int) -> bool:
    """Whether a number, or any element of an array, is below `bound`."""
    return bool(np.any(value < bound)) if isinstance(value, np.ndarray) else value < bound


def _whole(value: Any) -> bool:
    return bool(np.all(np.equal(np.mod(value, 1), 0)))


def _checked_number(value: Any) -> Any:
    """NaN and infinities are never numbers of a spec; integers are bounded (max_int_digits)."""
    kind = _kind(value)
    if kind == "f" and not bool(np.all(np.isfinite(value))):
        raise FieldError(f"expected a finite number, got {_show(value)}",
                         "NaN and infinity are not allowed")
    if kind in ("i", "u") and not isinstance(value, np.ndarray):
        digits = limits.current().max_int_digits
        if abs(value) >= 10 ** digits:
            raise FieldError(f"the integer has more than {digits} digits (limit "
                             "max_int_digits)", limits.fix("max_int_digits"))
    return value


def _as_int(value: Any, evaluate_expr: Evaluate) -> Any:
    _checked_number(value)
    if isinstance(value, str):
        text, value = value, evaluate_expr(value)
        if isinstance(value, Unknown):
            return value
        if _kind(value) == "f" and _whole(value):
            value = _exact(value)
        if _kind(value) not in ("i", "u"):
            raise FieldError(f"'{text}' gives {_show(value)}, not an integer",
                             "use // or round() to get a whole number")
    elif _kind(value) != "i":
        raise FieldError(f"expected an integer, got {describe(value)}")
    if _below(value, 0):
        raise FieldError(f"expected a non-negative integer, got {_show(value)}")
    return value


def _as_number(value: Any, evaluate_expr: Evaluate, whole_to_int: bool = True) -> Any:
    written = value
    if isinstance(value, str):
        value = evaluate_expr(value)  # also reads YAML's string '1e-3' as the number 0.001
    if isinstance(value, Unknown):
        return value
    if _kind(value) not in ("i", "u", "f"):
        raise FieldError(f"expected a number, got {describe(value)}")
    _checked_number(value)
    if not whole_to_int:
        return np.asarray(value, dtype=float) if isinstance(value, np.ndarray) else float(value)
    if _kind(value) == "f" and not isinstance(written, float) and _whole(value):
        return _exact(value)
    return value


def _as_bool(value: Any, evaluate_expr: Evaluate) -> Any:
    if isinstance(value, str):
        try:
            value = evaluate_expr(value)
        except FieldError:
            raise FieldError(f"expected true or false (or a condition), got str {value!r}") \
                from None
    if isinstance(value, Unknown) or _kind(value) == "b":
        return value
    fix = "write a condition, e.g. `x == 1`" if isinstance(value, int | float) else ""
    raise FieldError(f"expected true or false, got {describe(value)}", fix)


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.tolist()!r}"
    return repr(value)


def coerce(hint: Any, value: Any, evaluate_expr: Evaluate) -> Any:
    """Check `value` against a type hint and convert it; strings in number fields are
    expressions, handed to `evaluate_expr`."""
    origin = typing.get_origin(hint)
    if hint is int:
        return _as_int(value, evaluate_expr)
    if hint is float:
        return _as_number(value, evaluate_expr, whole_to_int=False)
    if hint is Number:
        return _as_number(value, evaluate_expr)
    if hint is bool:
        return _as_bool(value, evaluate_expr)
    if hint is str:  # a label, never an expression (unpriced's op_type)
        if isinstance(value, str) and value:
            return value
        raise FieldError(f"expected a name, got {describe(value)}")
    if origin is Literal:
        choices = typing.get_args(hint)
        if value in choices and not isinstance(value, bool):
            return value
        raise FieldError(f"expected one of {', '.join(map(str, choices))}; got "
                         f"{describe(value)}", did_you_mean(str(value), map(str, choices), ""))
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise FieldError(f"expected a list, got {describe(value)}")
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise FieldError(f"expected a list of {len(args)} values, got {len(value)}")
        if args[-1] is Ellipsis and not value:
            raise FieldError("expected a non-empty list")
        return tuple(coerce(args[0], item, evaluate_expr) for item in value)
    if origin in (typing.Union, _UNION_TYPE):
        return _coerce_union(typing.get_args(hint), value, evaluate_expr)
    raise TypeError(f"no converter for {hint!r}")  # a bug in an op's annotations


_UNION_TYPE = type(int | str)


def _coerce_union(options: tuple[Any, ...], value: Any, evaluate_expr: Evaluate) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise FieldError("a value is required here, got nothing (null)")
    literals = [o for o in options if typing.get_origin(o) is Literal]
    words = [c for lit in literals for c in typing.get_args(lit)]
    if isinstance(value, str) and value in words:
        return value
    if isinstance(value, list):
        for option in options:
            if typing.get_origin(option) is tuple:
                return coerce(option, value, evaluate_expr)
        raise FieldError(f"expected a single value, got {describe(value)}")
    scalar = [o for o in options if o in (int, float, bool)]
    if scalar:
        try:
            return coerce(scalar[0], value, evaluate_expr)
        except FieldError as exc:
            if words and isinstance(value, str):
                exc.fix = exc.fix or f"or one of: {', '.join(words)}"
            raise
    return coerce(literals[0], value, evaluate_expr)


# Fields that must be at least 1 wherever they appear (an op's own rules check the rest).
POSITIVE_FIELDS = {"out", "kernel", "stride", "dilation", "groups", "parts", "size", "kernels",
                   "channels", "height", "width", "resolution", "factor", "vocab", "dim",
                   "hidden", "num_layers"}


# Fields that are fractions: at least 0 and below 1 (a dropout rate of 1 drops everything).
FRACTION_FIELDS = {"rate"}


def check_bounds(key: str, hint: Any, value: Any) -> None:
    """The bounds a field's name implies (check_positive), for the fields of layer kinds and
    of a spec's input, width and variants. A block argument means what its block makes of it
    (DeepLab's `rate` is a dilation, not a dropout rate), so it has none."""
    if hint is not Number:
        check_positive(key, value)


def check_positive(key: str, value: Any) -> None:
    """Fields named in POSITIVE_FIELDS must be at least 1 (numbers or arrays of them), those in
    FRACTION_FIELDS in [0, 1)."""
    if key in FRACTION_FIELDS and _kind(value) in ("i", "u", "f") \
            and not bool(np.all((np.asarray(value) >= 0) & (np.asarray(value) < 1))):
        raise FieldError(f"'{key}' must be at least 0 and below 1, got {_show(value)}")
    if key not in POSITIVE_FIELDS:
        return
    items = value if isinstance(value, tuple) else (value,)
    if any(_below(v, 1) for v in items if _kind(v) in ("i", "u")):
        raise FieldError(f"'{key}' must be at least 1, got {_show(value)}")


@dataclass(frozen=True, slots=True)
class Field:
    """One value of a spec as written, with its line: a number, a boolean, a choice, a list, or
    an expression (text), checked against `hint` when it is evaluated. `what` names it in
    messages ("conv: 'out'"); `key` is its YAML key."""

    key: str
    raw: Any
    hint: Any
    line: int
    what: str
    value: Any = None  # the checked value, when `constant` (nothing to evaluate)
    constant: bool = False


@dataclass(frozen=True, slots=True)
class OpSchema:
    """An op's YAML fields (`global` maps to the dataclass field `global_`)."""

    cls: type
    hints: Mapping[str, Any]
    keys: Mapping[str, str]  # YAML key -> dataclass field
    required: frozenset[str]

    @staticmethod
    def of(cls: type) -> OpSchema:
        hints = typing.get_type_hints(cls, vars(ops))
        keys, required = {}, set()
        for f in dataclasses.fields(cls):
            key = f.name.rstrip("_")
            keys[key] = f.name
            if f.default is MISSING and f.default_factory is MISSING:
                required.add(key)
        return OpSchema(cls, hints, keys, frozenset(required))


OP_SCHEMAS = {kind: OpSchema.of(cls) for kind, cls in OPS.items()}
SCHEMAS = {kind: schema for kind, schema in OP_SCHEMAS.items() if kind != "input"}  # in specs


def _no_expression(text: str) -> Any:
    raise FieldError(f"expected a value, got the text {text!r}")


def check_op(op: ops.OpBase) -> None:
    """Check an op built in code (not parsed from a spec) against the same schema: each field
    of its type, and at least 1 where POSITIVE_FIELDS says so. Raises FieldError."""
    schema = OP_SCHEMAS[op.kind]
    for key, name in schema.keys.items():
        value = getattr(op, name)
        try:
            coerce(schema.hints[name], list(value) if isinstance(value, tuple) else value,
                   _no_expression)
        except FieldError as exc:
            raise FieldError(f"'{key}': {exc.what}", exc.fix) from None
        check_positive(key, value)

# Keys every layer entry may carry, and the sugar a conv/fc/mdconv may carry.
COMMON_KEYS = {"name", "inputs", "n", "when"}
SUGAR_KEYS = {"norm", "act", "scale"}
SUGAR_KINDS = {"conv", "fc", "mdconv", "deconv"}
NORMS = ("batchnorm", "none")
ACTS = typing.get_args(ops.Activation) + ("none",)
MERGES = ("concat", "add")
PARAM_ROLES = tuple(ParamCounts.__dataclass_fields__)[:3]  # weights, biases, bn

TOP_KEYS = {"version", "name", "source", "description", "input", "width", "defaults", "blocks",
            "layers", "args", "variants", "paper_params", "density"}
BLOCK_KEYS = {"args", "repeat", "layers", "residual", "description"}
RESIDUAL_KEYS = {"when", "shortcut", "merge", "act"}
VARIANT_KEYS = {"width", "resolution", "args", "description", "density"}
INPUT_KEYS = {"channels", "size"}
WIDTH_KEYS = {"multiplier": float, "round": Literal[ROUNDING], "divisor": int, "min": int}
PARALLEL_KEYS = {"branches", "merge"}
