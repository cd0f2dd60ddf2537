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
from .shapes import infer_shapes
from .spec import Spec, load_spec

__all__ = ["CostcalcError", "Graph", "Layer", "Report", "ShapeError", "Spec", "SpecError",
           "analyze", "build_graph", "infer_shapes", "load_spec"]
__version__ = "0.1.0"
