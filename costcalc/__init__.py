"""costcalc: an analytical cost model for convolutional networks.

    >>> import costcalc
    >>> report = costcalc.analyze("mobilenet_v2")
    >>> report.totals.macs
    300774272
"""

from .errors import CostcalcError, ShapeError, SpecError
from .expand import build_graph
from .graph import Graph, Layer
from .report import Report, analyze
from .shapes import Shaped, shape_graph
from .spec import Spec, load_spec, parse_spec
from .sweep import SweepResult, sweep

__all__ = ["CostcalcError", "Graph", "Layer", "Report", "ShapeError", "Shaped", "Spec",
           "SpecError", "SweepResult", "analyze", "build_graph", "load_spec",
           "parse_spec", "shape_graph", "sweep"]
__version__ = "0.1.0"
