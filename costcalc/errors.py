"""Error types. Every user-facing problem is a CostcalcError; anything else is a bug.

A CostcalcError says what is wrong and, where there is one, how to fix it; `str()` gives the
text the CLI prints: `what`, then `  fix: ...` on its own line. A SpecError holds one or more
located Problems (`FILE:LINE: what` and `fix:`), sorted by line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


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
        items = [problems] if isinstance(problems, Problem) else list(problems)
        self.problems = tuple(sorted(items, key=lambda p: (p.file, p.line)))
        super().__init__("\n".join(str(p) for p in self.problems))


class ShapeError(CostcalcError):
    """A shape rule failed: raised by ops without location, re-raised by passes with it."""


def did_you_mean(key: str, allowed: Iterable[str], otherwise: str | None = None) -> str:
    """The fix for an unknown name: the closest allowed one, else `otherwise` (by default the
    list of allowed names)."""
    names = sorted(allowed)
    close = difflib.get_close_matches(key, names, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "allowed: " + ", ".join(names) if otherwise is None else otherwise
