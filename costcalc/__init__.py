"""costcalc: an analytical cost model for convolutional networks.

    >>> import costcalc
    >>> report = costcalc.analyze("mobilenet_v2")
    >>> report.totals.macs
    300774272
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import CostcalcError, ShapeError, SpecError
    from .expand import build_graph
    from .graph import Graph, Layer
    from .report import Report, analyze
    from .shapes import Shaped, shape_graph
    from .spec import Spec, load_spec, parse_spec
    from .sweep import SweepResult, sweep

# The API's names and the modules that define them. A name is imported when it is first used,
# so that `import costcalc` (which every command line run does first) costs nothing, and
# each command imports only what it uses (tests/test_startup.py checks `costcalc report`).
_API = {"CostcalcError": "errors", "ShapeError": "errors", "SpecError": "errors",
        "build_graph": "expand", "Graph": "graph", "Layer": "graph", "Report": "report",
        "analyze": "report", "Shaped": "shapes", "shape_graph": "shapes", "Spec": "spec",
        "load_spec": "spec", "parse_spec": "spec", "SweepResult": "sweep", "sweep": "sweep"}

__all__ = ["CostcalcError", "Graph", "Layer", "Report", "ShapeError", "Shaped", "Spec",
           "SpecError", "SweepResult", "analyze", "build_graph", "load_spec",
           "parse_spec", "shape_graph", "sweep"]  # the keys of _API (tests/test_startup.py)
__version__ = "0.1.0"


def _load(name: str) -> Any:
    return getattr(importlib.import_module(f"{__name__}.{_API[name]}"), name)


def __getattr__(name: str) -> Any:
    if name not in _API:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = _load(name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})


class _Package(types.ModuleType):
    """`costcalc.sweep` is the function, as the API says, even after the submodule of that
    name is imported (the import system then binds the submodule on its package: the setter
    below ignores that)."""

    @property
    def sweep(self) -> Any:
        return _load("sweep")

    @sweep.setter
    def sweep(self, value: Any) -> None:
        pass


sys.modules[__name__].__class__ = _Package
