"""Values known only in the shape pass, and how they are evaluated there.

Expansion decides a network's structure from the spec's arguments. What depends on the width
multiplier or on another layer's channel count stays unevaluated in the graph: `Channels` (a
layer's output channels, what `c_in` and `c_out` name), `ALPHA`, a `Scaled` channel count (the
written count and its rounding rule) and a `Deferred` expression over any of these. The shape
pass evaluates them with `resolve`, for one alpha or a numpy array of them, through the same
expression evaluator and the same op rules.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import Problem, SpecError
from .expr import ExprError, Unknown, Unresolved, evaluate, names_in
from .schema import Field, FieldError, check_bounds, coerce
from .width import WidthRule, _exact


class _Alpha(Unknown):
    def __repr__(self) -> str:
        return "alpha"


ALPHA = _Alpha()


@dataclass(frozen=True, slots=True, eq=False)
class Channels(Unknown):
    """The output channels of a layer (after the shape pass has shaped it)."""

    layer: str


@dataclass(frozen=True, slots=True, eq=False)
class Scaled(Unknown):
    """A channel count thinned or widened by alpha; `when` is the entry's `scale:`."""

    base: Any  # the count as written: an int or an Unknown
    rule: WidthRule
    when: Any = True  # a bool or an Unknown condition


@dataclass(frozen=True, slots=True, eq=False)
class Deferred(Unknown):
    """A field's expression whose names include Unknowns, bound as at expansion."""

    field: Field
    names: Mapping[str, Any]
    file: str


@dataclass(frozen=True, slots=True)
class Context:
    """What the shape pass knows: alpha, and every shaped layer's output channels. `values`
    keeps each Deferred's value once computed: one expression often serves several layers (a
    block argument, the condition of a conv and of its batch norm and activation)."""

    alpha: Any
    channels: Callable[[str], Any]
    values: dict[int, Any] = dataclasses.field(default_factory=dict)


def is_known(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(is_known(v) for v in value)
    return not isinstance(value, Unknown)


def field_value(field: Field, names: Mapping[str, Any], file: str) -> Any:
    """A field's value at expansion, or a Deferred when it needs an Unknown; located errors."""
    if field.constant:
        return field.value

    def expression(text: str) -> Any:
        if unknown := sorted(n for n in names_in(text) - set(names)):
            evaluate(unknown[0], names)  # the unknown-name error, with its suggestion
        try:
            return evaluate(text, names)
        except Unresolved:
            used = {n: names[n] for n in names_in(text)}
            return Deferred(field, used, file)

    return _checked(field, expression, file)


def resolve(value: Any, ctx: Context) -> Any:
    """The number (or numpy array, one value per configuration) an Unknown stands for."""
    if isinstance(value, tuple):
        return tuple(resolve(v, ctx) for v in value)
    if not isinstance(value, Unknown):
        return value
    if value is ALPHA:
        return ctx.alpha
    if isinstance(value, Channels):
        return ctx.channels(value.layer)
    if isinstance(value, Scaled):
        base, when = resolve(value.base, ctx), resolve(value.when, ctx)
        scaled = value.rule.apply(base, ctx.alpha)
        if isinstance(when, bool):
            return scaled if when else base
        return _exact(np.where(when, scaled, base))
    assert isinstance(value, Deferred), value
    if id(value) not in ctx.values:
        names = {k: resolve(v, ctx) for k, v in value.names.items()}
        ctx.values[id(value)] = _checked(value.field, lambda text: evaluate(text, names),
                                         value.file)
    return ctx.values[id(value)]


def _checked(field: Field, expression: Callable[[str], Any], file: str) -> Any:
    """Coerce a field through its type hint; an expression's own error stands alone, a type
    error is prefixed with what the field is."""
    try:
        value = coerce(field.hint, field.raw, expression)
        check_bounds(field.key, field.hint, value)
        return value
    except ExprError as exc:
        raise SpecError(Problem(file, field.line, exc.what, exc.fix)) from None
    except FieldError as exc:
        raise SpecError(Problem(file, field.line, f"{field.what}: {exc.what}", exc.fix)) \
            from None
