"""Error types. Every user-facing problem is a CostcalcError; anything else is a bug.

A CostcalcError says what is wrong and, where there is one, how to fix it; `str()` gives the
text the CLI prints: `what`, then `  fix: ...` on its own line. A SpecError holds one or more
located Problems (`FILE:LINE: what` and `fix:`), sorted by line.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class CostcalcError(Exception):
    """A problem in the user's input. The CLI prints it and exits 1, without a traceback."""

    def __init__(self, what: str, fix: str = ""):
        self.what, self.fix = what, fix
        super().__init__(f"{what}\n  fix: {fix}" if fix else what)


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem: `file:line: what` plus an optional `fix:` hint."""

    file: str
    line: int
    what: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        text = where + self.what
        return f"{text}\n  fix: {self.fix}" if self.fix else text


class SpecError(CostcalcError):
    """One or more problems in a spec, reported sorted by line."""

    def __init__(self, problems: list[Problem] | Problem):
        from .limits import current

        items = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems = tuple(sorted(items, key=lambda p: (p.file, p.line)))
        shown = current().max_message_items  # a message lists this many, then says how many more
        lines = [str(p) for p in self.problems[:shown]]
        if len(self.problems) > shown:
            lines.append(f"... and {len(self.problems) - shown:,} more problems (limit "
                         "max_message_items)")
        super().__init__("\n".join(lines))


class ShapeError(CostcalcError):
    """A shape rule failed: raised by ops without location, re-raised by passes with it."""


def capped(items: list[str], separator: str = ", ") -> str:
    """A list for a message: at most max_message_items items, then how many more."""
    from .limits import current

    shown = current().max_message_items
    text = separator.join(items[:shown])
    return text + (f"{separator}... ({len(items) - shown:,} more)" if len(items) > shown
                   else "")


def did_you_mean(key: str, allowed: Iterable[str], otherwise: str | None = None) -> str:
    """The fix for an unknown name: the closest allowed one, else `otherwise` (by default the
    list of allowed names)."""
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "allowed: " + capped(names) if otherwise is None else otherwise


def optional_module(name: str, purpose: str, extra: str) -> Any:
    """Import an optional dependency, or say which of costcalc's extras installs it."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        raise CostcalcError(f"{purpose} needs the {name} package",
                            f"pip install 'costcalc[{extra}]'") from None
