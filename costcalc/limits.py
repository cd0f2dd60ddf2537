"""Named bounds on the work any input can cause (docs/limits.md).

Every stage that could be made to work without bound by a small input checks one of these, and
refuses with a CostcalcError that names the limit and how to raise it. The defaults are far above
any real network; `override` raises (or lowers) them for a block of code, e.g. the CLI's
`--limit NAME=VALUE`:

    with limits.override(max_layers=5_000_000):
        analyze("huge.yaml")
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import CostcalcError


@dataclass(frozen=True, slots=True)
class Limits:
    max_file_bytes: int = 10_000_000  # a spec file's size
    max_yaml_depth: int = 100  # nested mappings and lists
    max_alias_nodes: int = 100_000  # YAML nodes that aliases add (a "billion laughs" bound)
    max_layers: int = 1_000_000  # layers after expanding blocks, repeats and branches
    max_expression_chars: int = 500  # one expression's text
    max_expression_depth: int = 50  # nesting of one expression's syntax tree
    max_int_digits: int = 100  # decimal digits of any integer a spec writes or computes
    max_message_items: int = 20  # problems (or path steps) one message lists


DEFAULT = Limits()
NAMES = tuple(f.name for f in dataclasses.fields(Limits))
_current: contextvars.ContextVar[Limits] = contextvars.ContextVar("costcalc_limits",
                                                                  default=DEFAULT)


def current() -> Limits:
    return _current.get()


@contextlib.contextmanager
def override(**values: int) -> Iterator[Limits]:
    """Run a block with some limits changed; unknown names and non-positive values are errors."""
    from .errors import did_you_mean

    for name, value in values.items():
        if name not in NAMES:
            raise CostcalcError(f"unknown limit '{name}'", did_you_mean(name, NAMES))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CostcalcError(f"limit '{name}' must be a positive integer, got {value!r}")
    token = _current.set(dataclasses.replace(current(), **values))
    try:
        yield current()
    finally:
        _current.reset(token)


def exceeded(name: str, what: str) -> CostcalcError:
    """The error for a limit passed: what went past it, and how to raise it."""
    value = getattr(current(), name)
    return CostcalcError(f"{what} (limit {name} = {value:,})", fix(name))


def fix(name: str) -> str:
    return (f"simplify the input, or raise the limit: costcalc --limit {name}=N ... "
            "(docs/limits.md)")
