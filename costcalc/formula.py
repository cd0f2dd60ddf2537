"""Closed-form cost formulas from the source documents, each checked against the graph engine.

A formula is evaluated twice at the user's numbers: symbolically (its expressions, written as
the documents state them, go through the spec expression evaluator) and by building the layers
it describes as a small `Graph` of op records, counted by `analyze` with the same metric
visitors as any network. Each quantity shows both values and whether they agree. Where a
document's expression is not the ratio it claims to be, the formula's data says so
(`Quantity.disagrees`) and the disagreement is the finding, never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import expr
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .graph import Graph, Layer
from .ops import Concat, Conv, Input, OpBase, Shuffle
from .report import Report, analyze
from .schema import FieldError, check_op

Number = int | float
Values = Mapping[str, Number]
RELATIVE_EPS = 1e-9  # closed forms with divisions are floats; counts are exact integers


@dataclass(frozen=True, slots=True)
class Quantity:
    """A closed-form expression, checked against the engine's count of the same key.

    `against` names another count when a document states the expression equals that count.
    `disagrees` marks a document's expression that never equals its count: the disagreement
    is the formula's finding, and the tests expect it.
    """

    key: str
    label: str
    expression: str
    against: str | None = None
    disagrees: bool = False


@dataclass(frozen=True, slots=True)
class Check:
    """One quantity at the user's numbers: closed form, engine count, and whether they agree."""

    key: str
    label: str
    expression: str
    closed: Number
    graph: Number  # the engine count it is checked against
    agree: bool


@dataclass(frozen=True, slots=True)
class FormulaResult:
    """A formula evaluated at the user's numbers: its checks and what they show."""

    name: str
    description: str
    source: str
    args: Mapping[str, Number]
    derived: Mapping[str, Number]
    checks: tuple[Check, ...]
    findings: tuple[str, ...]

    @property
    def agree(self) -> bool:
        return all(c.agree for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        """JSON; papers rows read `closed.KEY` and `graph.KEY` (the engine counts)."""
        return {
            "formula": self.name, "description": self.description, "source": self.source,
            "args": dict(self.args), "derived": dict(self.derived),
            "closed": {c.key: c.closed for c in self.checks},
            "graph": {c.key: c.graph for c in self.checks},
            "checks": [{"key": c.key, "label": c.label, "expression": c.expression,
                        "closed": c.closed, "graph": c.graph, "agree": c.agree}
                       for c in self.checks],
            "findings": list(self.findings),
        }


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula from the documents: arguments, closed forms, and the layers it describes."""

    name: str
    description: str
    source: str
    args: Mapping[str, Number]  # defaults; the order is the documents' notation
    derived: Mapping[str, str]  # name -> expression, evaluated in order after the args
    quantities: tuple[Quantity, ...]
    count: Callable[[Values], dict[str, Number]]  # builds the layers and counts them
    findings: Callable[[Values, Values], list[str]]  # (args and derived values, counts)


# ---------------------------------------------------------------------------------------------
# Building layers in the engine

Step = tuple[str, OpBase] | tuple[str, OpBase, tuple[str, ...]]


def _count(network: str, channels: Number, size: tuple[Number, Number], *steps: Step) -> Report:
    """Count a small network: an input of `channels` x `size`, then `(name, op)` steps, each
    fed by the previous layer unless a third element names its inputs. A layer's line is its
    position (the input is 1), for error messages."""
    layers = [Layer("input", Input(channels, *size), (), 1)]
    for line, (name, op, *inputs) in enumerate(steps, start=2):
        layers.append(Layer(name, op, inputs[0] if inputs else (layers[-1].name,), line))
    graph = Graph(network, "costcalc formula", f"<formula {network}>", tuple(layers))
    _check_sizes(graph)
    return analyze(graph)


def _check_sizes(graph: Graph) -> None:
    """Formula arguments reach the ops without a spec, so the ops are checked against the same
    schema the spec parser uses (whole numbers of at least 1 for sizes, channels, kernels)."""
    problems = []
    for layer in graph.layers:
        try:
            check_op(layer.op)
        except FieldError as exc:
            problems.append(Problem(graph.file, layer.line, f"'{layer.name}': {exc.what}",
                                    exc.fix or "check the formula's arguments (`costcalc "
                                    "formula --list`)"))
    if problems:
        raise SpecError(problems)


def _ratio(a: int, b: int) -> float:
    return float(Fraction(a, b))


def _agree(closed: Number, counted: Number) -> bool:
    if isinstance(closed, int) and isinstance(counted, int):
        return closed == counted
    return math.isclose(closed, counted, rel_tol=RELATIVE_EPS, abs_tol=1e-15)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


# ---------------------------------------------------------------------------------------------
# The formulas: each counts its layers and states what the counts show


def _count_separable(values: Values) -> dict[str, Number]:
    size = (values["F"], values["F"])
    dk, n = values["dk"], values["N"]
    std = _count("standard", values["M"], size, ("conv", Conv(out=n, kernel=dk, pad="same")))
    sep = _count("separable", values["M"], size,
                 ("depthwise", Conv(kernel=dk, pad="same", groups="depthwise")),
                 ("pointwise", Conv(out=n)))
    s, d = std.totals, sep.totals
    return {"std_macs": s.macs, "sep_macs": d.macs, "std_params": s.weights,
            "sep_params": d.weights, "macs_ratio": _ratio(d.macs, s.macs),
            "params_ratio": _ratio(d.weights, s.weights)}


def _find_separable(values: Values, counted: Values) -> list[str]:
    return [
        f"1/N + 1/D_K^2 = {counted['macs_ratio']:.6f} is exactly the ratio of both costs: the "
        f"D_F^2 factor cancels for MACs ({counted['std_macs'] / counted['sep_macs']:.2f}x "
        f"fewer), and params are {counted['std_params'] / counted['sep_params']:.2f}x fewer.",
        "alpha thins M and N (cost about alpha^2, channels truncated as MobileNet's "
        "int(alpha*c)); rho shrinks D_F (MACs about rho^2, params unchanged).",
    ]


def _count_flattened(values: Values) -> dict[str, Number]:
    m, n, kx, ky = values["m"], values["n"], values["kx"], values["ky"]
    pad = "same" if values["same"] else "valid"
    size = (values["p"], values["q"])
    std = _count("standard", m, size, ("conv", Conv(out=n, kernel=(ky, kx), pad=pad)))
    flat = _count("flattened", m, size,
                  ("lateral", Conv(out=n)),
                  ("vertical", Conv(kernel=(ky, 1), pad=pad, groups="depthwise")),
                  ("horizontal", Conv(kernel=(1, kx), pad=pad, groups="depthwise")))
    s, f = std.totals, flat.totals
    return {"std_params": s.weights, "flat_params": f.weights, "std_macs": s.macs,
            "flat_macs": f.macs, "params_ratio": _ratio(f.weights, s.weights),
            "macs_ratio": _ratio(f.macs, s.macs)}


def _find_flattened(values: Values, counted: Values) -> list[str]:
    stated = values["stated"]
    out = [
        "The blog calls the expression a saving; it is the fraction of the cost that remains "
        f"(here {_pct(stated)}), the saving is 1 minus it ({_pct(1 - stated)}).",
        "The algebra is right, and the expression is exactly the params ratio of a rank-one "
        "(lateral M->N, vertical K_y x 1, horizontal 1 x K_x) layer: "
        f"{counted['params_ratio']:.6f}.",
    ]
    if _agree(stated, counted["macs_ratio"]):
        out.append("With stride 1 and 'same' padding every stage has the output's D_F^2 "
                   "positions, so it is also the MACs ratio.")
    else:
        out.append(f"With 'valid' padding it is not the MACs ratio: the stages run on "
                   f"different map sizes, the counted ratio is {counted['macs_ratio']:.6f} "
                   f"({(counted['macs_ratio'] / stated - 1) * 100:+.2f}% vs the expression).")
    return out


def _count_lowrank(values: Values) -> dict[str, Number]:
    # A (m x n) times B (n x p): a 1x1 conv from n to m channels over p positions.
    m, n, k, p = values["m"], values["n"], values["k"], values["p"]
    full = _count("full", n, (1, p), ("A", Conv(out=m)))
    low = _count("factored", n, (1, p), ("A2", Conv(out=k)), ("A1", Conv(out=m)))
    return {"full_macs": full.totals.macs, "low_macs": low.totals.macs,
            "full_params": full.totals.weights, "low_params": low.totals.weights,
            "exact_ratio": _ratio(low.totals.macs, full.totals.macs)}


def _find_lowrank(values: Values, counted: Values) -> list[str]:
    m, n, k = values["m"], values["n"], values["k"]
    exact, stated = counted["exact_ratio"], values["stated"]
    return [
        f"The cost of A1 (A2 B) over A B is k(m+n)/(mn) = {exact:.6f}; the notes' 2k/(m+n) = "
        f"{stated:.6f} is {stated / exact:.4f} times it (= 2mn/(m+n)^2).",
        "They never agree: equality needs (m+n)^2 = 2mn, impossible for positive m, n; the "
        "notes' figure is at most half the true ratio (exactly half when m = n), so it "
        "overstates the saving.",
        f"Factoring pays only when k < mn/(m+n) = {m * n / (m + n):.2f}, not for every "
        f"k < min(m, n) = {min(m, n)}" + (f"; at k = {k} the factored product costs more."
                                          if exact > 1 else "."),
    ]


def _factored(full: Report, factored: Report, name: str) -> dict[str, Number]:
    """Params and MACs of a full conv and its factorization, and the params saved."""
    return {"full_params": full.totals.weights, f"{name}_params": factored.totals.weights,
            "full_macs": full.totals.macs, f"{name}_macs": factored.totals.macs,
            "saving": 1 - _ratio(factored.totals.weights, full.totals.weights)}


def _count_asymmetric(values: Values) -> dict[str, Number]:
    n, c, size = values["n"], values["c"], (values["size"], values["size"])
    full = _count("nxn", c, size, ("conv", Conv(out=c, kernel=n, pad="same")))
    fact = _count("1xn+nx1", c, size, ("1xn", Conv(out=c, kernel=(1, n), pad="same")),
                  ("nx1", Conv(out=c, kernel=(n, 1), pad="same")))
    return _factored(full, fact, "fact")


def _find_asymmetric(values: Values, counted: Values) -> list[str]:
    n, saving = values["n"], counted["saving"]
    return [f"{n}x{n} -> 1x{n} + {n}x1 keeps {_pct(1 - saving)} of the params and MACs: "
            f"{_pct(saving)} fewer (the notes' 33% for 3x3)."]


def _count_stacked(values: Values) -> dict[str, Number]:
    k, c, size = values["k"], values["c"], (values["size"], values["size"])
    full = _count("kxk", c, size, ("conv", Conv(out=c, kernel=k, pad="same")))
    stack = _count("3x3 stack", c, size, *[(f"conv3x3_{i}", Conv(out=c, kernel=3, pad="same"))
                                           for i in range(1, values["layers"] + 1)])
    return _factored(full, stack, "stack")


def _find_stacked(values: Values, counted: Values) -> list[str]:
    return [f"{values['layers']} stacked 3x3 convs see the same {values['k']}x{values['k']} "
            f"field with {_pct(counted['saving'])} fewer params and MACs "
            "(5x5 -> two 3x3: 18/25, 28% fewer)."]


def _count_shuffle_units(values: Values) -> dict[str, Number]:
    c, m, groups = values["c"], values["m"], values["g"]
    size = (values["h"], values["w"])
    resnet = _count("ResNet unit", c, size, ("reduce", Conv(out=m)),
                    ("conv3x3", Conv(out=m, kernel=3, pad=1)),
                    ("expand", Conv(out=c)))
    resnext = _count("ResNeXt unit", c, size, ("reduce", Conv(out=m)),
                     ("conv3x3", Conv(out=m, kernel=3, pad=1, groups=groups)),
                     ("expand", Conv(out=c)))
    shuffle = _count("ShuffleNet unit", c, size, ("gconv1", Conv(out=m, groups=groups)),
                     ("shuffle", Shuffle(groups=groups)),
                     ("dwconv", Conv(kernel=3, pad=1, groups="depthwise")),
                     ("gconv2", Conv(out=c, groups=groups)))
    return {"resnet": resnet.totals.macs, "resnext": resnext.totals.macs,
            "shufflenet": shuffle.totals.macs}


def _find_shuffle_units(values: Values, counted: Values) -> list[str]:
    return [f"At c={values['c']}, m={values['m']}, {values['h']}x{values['w']}, "
            f"g={values['g']}: the ShuffleNet unit costs "
            f"{counted['resnet'] / counted['shufflenet']:.2f}x less than the ResNet unit and "
            f"{counted['resnext'] / counted['shufflenet']:.2f}x less than the ResNeXt unit, so "
            "for the same budget it can afford wider feature maps (Zhang et al. 2018, section "
            "3.2)."]


def _count_v2_mac(values: Values) -> dict[str, Number]:
    h, w = values["h"], values["w"]
    report = _count("1x1 conv", values["c1"], (h, w), ("conv", Conv(out=values["c2"])))
    data_in, conv = report.layers
    # Memory access cost (Ma et al. G1): the conv reads its input and weights and writes its
    # output, each once. Read from the report's rows until a traffic metric exists.
    mac = data_in.activations + conv.activations + conv.weights
    return {"flops": conv.macs, "mac": mac,
            "bound": 2 * math.sqrt(h * w * conv.macs) + conv.macs / (h * w)}


def _find_v2_mac(values: Values, counted: Values) -> list[str]:
    gap = counted["mac"] - counted["bound"]
    equal = "equal, so the bound is reached" if values["c1"] == values["c2"] else \
        f"unequal, so MAC exceeds the bound by {gap:,.1f} ({_pct(gap / counted['bound'])})"
    return [f"MAC = hw(c1+c2) + c1c2 >= 2 sqrt(hwB) + B/hw by AM-GM on c1 + c2 >= "
            f"2 sqrt(c1c2); here c1 and c2 are {equal} (guideline G1: equal channel widths "
            "minimize memory access cost for given FLOPs). ShuffleNet v2's 'MAC' is memory "
            "access cost, not multiply-accumulates."]


def _count_fire(values: Values) -> dict[str, Number]:
    bias = bool(values["bias"])
    size = (values["size"], values["size"])
    fire = _count("fire", values["cin"], size,
                  ("squeeze", Conv(out=values["s1"], bias=bias)),
                  ("expand1x1", Conv(out=values["e1"], bias=bias), ("squeeze",)),
                  ("expand3x3", Conv(out=values["e3"], kernel=3, pad=1, bias=bias), ("squeeze",)),
                  ("expand", Concat(), ("expand1x1", "expand3x3")))
    return {"params": fire.totals.weights + fire.totals.biases, "macs": fire.totals.macs,
            "out_channels": fire.layers[-1].output[0]}


def _find_fire(values: Values, counted: Values) -> list[str]:
    three = 9 * values["s1"] * values["e3"]
    return [f"s1x1 = SR*e = {values['s1']}, e3x3 = pct3x3*e = {values['e3']}, e1x1 = "
            f"{values['e1']}: {counted['params']:,} params, of which the 3x3 expand weights are "
            f"{_pct(three / counted['params'])}; the squeeze layer caps the 3x3 filters' input "
            "channels at s1x1 (SqueezeNet strategy 2)."]


FORMULAS: dict[str, Formula] = {f.name: f for f in (
    Formula(
        name="separable",
        description="standard vs depthwise separable conv, with width alpha and resolution rho",
        source="Howard et al. 2017 (MobileNet v1) section 3.1-3.3, Table 3; the blog post "
               "'Efficient Deep Neural Network'",
        args={"dk": 3, "m": 512, "n": 512, "df": 14, "alpha": 1.0, "rho": 1.0},
        derived={"M": "int(alpha * m)", "N": "int(alpha * n)", "F": "round(rho * df)"},
        quantities=(
            Quantity("std_macs", "standard conv MACs", "dk*dk*M*N*F*F"),
            Quantity("sep_macs", "separable MACs", "dk*dk*M*F*F + M*N*F*F"),
            Quantity("std_params", "standard conv params", "dk*dk*M*N"),
            Quantity("sep_params", "separable params", "dk*dk*M + M*N"),
            Quantity("macs_ratio", "MACs ratio", "1/N + 1/dk**2"),
            Quantity("params_ratio", "params ratio", "1/N + 1/dk**2"),
        ),
        count=_count_separable, findings=_find_separable),
    Formula(
        name="flattened",
        description="flattened (rank-one 1-D) conv vs standard conv: the blog's ratio",
        source="the blog post 'Efficient Deep Neural Network', 'Flattened Network'; Jin, Dundar, "
               "Culurciello 2014",
        args={"kx": 3, "ky": 3, "m": 64, "n": 64, "p": 32, "q": 32, "same": 1},
        derived={"stated": "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)"},
        quantities=(
            Quantity("std_params", "standard params", "kx*ky*m*n"),
            Quantity("flat_params", "flattened params", "kx*n + ky*n + m*n"),
            Quantity("params_ratio", "params ratio (stated)", "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)"),
            Quantity("macs_ratio", "MACs ratio (stated)", "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)"),
        ),
        count=_count_flattened, findings=_find_flattened),
    Formula(
        name="lowrank",
        description="low-rank factorization A (m x n) = A1 (m x k) A2 (k x n): notes vs exact",
        source="the notes 'Network Compression', 'Low rank approximation'",
        args={"m": 256, "n": 256, "k": 32, "p": 1},
        derived={"stated": "2*k/(m+n)"},
        quantities=(
            Quantity("full_macs", "A B mult-adds", "m*n*p"),
            Quantity("low_macs", "A1 (A2 B) mult-adds", "k*(m+n)*p"),
            Quantity("full_params", "A entries", "m*n"),
            Quantity("low_params", "A1, A2 entries", "k*(m+n)"),
            Quantity("exact_ratio", "exact cost ratio", "k*(m+n)/(m*n)"),
            # The notes state 2k/(m+n) as the cost ratio: checked against the counted one.
            Quantity("stated_ratio", "notes' cost ratio", "2*k/(m+n)",
                     against="exact_ratio", disagrees=True),
        ),
        count=_count_lowrank, findings=_find_lowrank),
    Formula(
        name="asymmetric",
        description="spatial factorization n x n -> 1 x n + n x 1",
        source="the notes 'Efficient Methods', Inception v3; Szegedy et al. 2016 section 3.2",
        args={"n": 3, "c": 64, "size": 28},
        derived={},
        quantities=(
            Quantity("full_params", "n x n params", "n*n*c*c"),
            Quantity("fact_params", "1 x n + n x 1 params", "2*n*c*c"),
            Quantity("full_macs", "n x n MACs", "n*n*c*c*size*size"),
            Quantity("fact_macs", "1 x n + n x 1 MACs", "2*n*c*c*size*size"),
            Quantity("saving", "fewer params", "1 - 2/n"),
        ),
        count=_count_asymmetric, findings=_find_asymmetric),
    Formula(
        name="stacked3x3",
        description="spatial factorization k x k -> (k-1)/2 stacked 3 x 3 (5x5 -> two 3x3)",
        source="the notes 'Efficient Methods', Inception v2/v3; Szegedy et al. 2016 section 3.1",
        args={"k": 5, "c": 64, "size": 28},
        derived={"layers": "(k - 1) // 2"},
        quantities=(
            Quantity("full_params", "k x k params", "k*k*c*c"),
            Quantity("stack_params", "3 x 3 stack params", "9*layers*c*c"),
            Quantity("full_macs", "k x k MACs", "k*k*c*c*size*size"),
            Quantity("stack_macs", "3 x 3 stack MACs", "9*layers*c*c*size*size"),
            Quantity("saving", "fewer params", "1 - 9*layers/(k*k)"),
        ),
        count=_count_stacked, findings=_find_stacked),
    Formula(
        name="shufflenet_unit",
        description="bottleneck unit complexity: ResNet, ResNeXt, ShuffleNet",
        source="Zhang et al. 2018 (ShuffleNet v1) section 3.2",
        args={"c": 240, "m": 60, "h": 28, "w": 28, "g": 3},
        derived={},
        quantities=(
            Quantity("resnet", "ResNet unit MACs", "h*w*(2*c*m + 9*m**2)"),
            Quantity("resnext", "ResNeXt unit MACs", "h*w*(2*c*m + 9*m**2/g)"),
            Quantity("shufflenet", "ShuffleNet unit MACs", "h*w*(2*c*m/g + 9*m)"),
        ),
        count=_count_shuffle_units, findings=_find_shuffle_units),
    Formula(
        name="shufflenet_v2_mac",
        description="memory access cost of a 1x1 conv and its lower bound (G1)",
        source="Ma et al. 2018 (ShuffleNet v2) section 2, guideline G1",
        args={"h": 56, "w": 56, "c1": 128, "c2": 128},
        derived={},
        quantities=(
            Quantity("flops", "B = FLOPs (mult-adds)", "h*w*c1*c2"),
            Quantity("mac", "memory access cost", "h*w*(c1+c2) + c1*c2"),
            Quantity("bound", "lower bound", "2*(h*w*h*w*c1*c2)**0.5 + c1*c2"),
        ),
        count=_count_v2_mac, findings=_find_v2_mac),
    Formula(
        name="fire",
        description="SqueezeNet fire module params from SR and pct3x3",
        source="Iandola et al. 2016 (SqueezeNet) section 3.2 and 5; lecture deck 'Designing "
               "Light-Weight Networks for Mobile Applications'",
        args={"cin": 96, "e": 128, "sr": 0.125, "pct": 0.5, "bias": 1, "size": 55},
        derived={"s1": "round(sr * e)", "e3": "round(pct * e)", "e1": "e - e3"},
        quantities=(
            Quantity("params", "fire params", "cin*s1 + s1*e1 + 9*s1*e3 + bias*(s1 + e1 + e3)"),
            Quantity("macs", "fire MACs", "size*size*(cin*s1 + s1*e1 + 9*s1*e3)"),
            Quantity("out_channels", "output channels", "e1 + e3"),
        ),
        count=_count_fire, findings=_find_fire),
)}


def list_formulas() -> list[Formula]:
    return list(FORMULAS.values())


def evaluate_formula(name: str, args: Mapping[str, Any] | None = None) -> FormulaResult:
    """Evaluate a formula's closed forms at `args` and count its layers in the engine."""
    if name not in FORMULAS:
        raise CostcalcError(f"unknown formula '{name}'", did_you_mean(name, FORMULAS))
    formula = FORMULAS[name]
    given: dict[str, Number] = dict(formula.args)
    for key, value in (args or {}).items():
        if key not in formula.args:
            raise CostcalcError(f"formula '{name}': unknown argument '{key}'",
                                did_you_mean(key, formula.args))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CostcalcError(f"formula '{name}': '{key}' must be a non-negative number, "
                                f"got {value!r}")
        given[key] = value
    values = dict(given)
    derived = {}
    for key, text in formula.derived.items():
        derived[key] = values[key] = expr.evaluate(text, values)
    at = " ".join(f"{k}={v}" for k, v in given.items() if args and k in args) or "its defaults"
    try:
        counted = formula.count(values)
        closed = {q.key: expr.evaluate(q.expression, values) for q in formula.quantities}
    except ZeroDivisionError:
        raise CostcalcError(f"formula '{name}': a divisor is zero at {given}") from None
    except SpecError as exc:  # the layers these arguments build: say so, not a pseudo-file line
        first = exc.problems[0]
        raise CostcalcError(f"formula '{name}' at {at}: layer {first.what}",
                            "check the formula's arguments (`costcalc formula --list`)") \
            from None
    checks = []
    for q in formula.quantities:
        engine = counted[q.against or q.key]
        checks.append(Check(q.key, q.label, q.expression, closed[q.key], engine,
                            _agree(closed[q.key], engine)))
    return FormulaResult(name, formula.description, formula.source, given, derived,
                         tuple(checks), tuple(formula.findings(values, counted)))
