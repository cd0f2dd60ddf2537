"""Closed-form cost formulas from the source documents, each checked against the graph engine.

A formula is evaluated twice at the user's numbers: symbolically (its expressions, written as
the documents state them, go through the spec expression evaluator) and by building the layers
it describes as a small spec in memory and counting them with the same metric visitors as any
network. Each quantity shows both values and whether they agree; where a document's expression
is not the ratio it claims to be, the disagreement is the finding, never hidden.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import CostcalcError
from .expr import evaluate
from .report import Report, analyze
from .spec import parse_spec

Number = int | float
RELATIVE_EPS = 1e-9  # closed forms with divisions are floats; counts are exact integers


@dataclass(frozen=True, slots=True)
class Quantity:
    """One closed-form expression and the engine count it must equal (`graph` names a key of
    the counted values), or None when the engine has nothing to compare it with."""

    key: str
    label: str
    expression: str
    graph: str | None = None


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    label: str
    expression: str
    closed: Number
    graph: Number | None
    agree: bool | None


@dataclass(frozen=True, slots=True)
class FormulaResult:
    name: str
    description: str
    source: str
    args: Mapping[str, Number]
    derived: Mapping[str, Number]
    checks: tuple[Check, ...]
    findings: tuple[str, ...]

    @property
    def agree(self) -> bool:
        return all(c.agree is not False for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.name, "description": self.description, "source": self.source,
            "args": dict(self.args), "derived": dict(self.derived),
            "closed": {c.key: c.closed for c in self.checks},
            "graph": {c.key: c.graph for c in self.checks if c.graph is not None},
            "checks": [{"key": c.key, "label": c.label, "expression": c.expression,
                        "closed": c.closed, "graph": c.graph, "agree": c.agree}
                       for c in self.checks],
            "findings": list(self.findings),
        }


Counter = Callable[[Mapping[str, Number]], dict[str, Number]]
Finder = Callable[[Mapping[str, Number], Mapping[str, Number], Mapping[str, Number]], list[str]]


@dataclass(frozen=True, slots=True)
class Formula:
    name: str
    description: str
    source: str
    args: Mapping[str, Number]  # defaults; the order is the documents' notation
    derived: tuple[tuple[str, str], ...]  # (name, expression), evaluated in order
    quantities: tuple[Quantity, ...]
    count: Counter  # builds the layers and counts them: key -> value
    findings: Finder


# ---------------------------------------------------------------------------------------------
# Building layers in the engine


def _network(name: str, channels: Number, size: tuple[Number, Number], layers: list[str]) -> Report:
    """Count a small network given as spec layer lines (flow-style YAML)."""
    body = "\n".join(f"  - {line}" for line in layers)
    text = (f"version: 1\nname: {name}\nsource: costcalc formula\n"
            f"input: {{channels: {channels}, size: [{size[0]}, {size[1]}]}}\n"
            f"layers:\n{body}\n")
    return analyze(parse_spec(text, f"<formula {name}>"))


def _ratio(a: int, b: int) -> float:
    return float(Fraction(a, b))


def _agree(closed: Number, graph: Number) -> bool:
    if isinstance(closed, int) and isinstance(graph, int):
        return closed == graph
    return math.isclose(closed, graph, rel_tol=RELATIVE_EPS, abs_tol=1e-15)


def _pct(x: float) -> str:
    return f"{100 * x:.2f}%"


# ---------------------------------------------------------------------------------------------
# The formulas


def _count_separable(v: Mapping[str, Number]) -> dict[str, Number]:
    size = (v["F"], v["F"])
    std = _network("standard", v["M"], size,
                   [f"conv: {{out: {v['N']}, kernel: {v['dk']}, pad: same}}"])
    sep = _network("separable", v["M"], size,
                   [f"conv: {{kernel: {v['dk']}, groups: depthwise, pad: same}}",
                    f"conv: {{out: {v['N']}, kernel: 1}}"])
    s, d = std.totals, sep.totals
    return {"std_macs": s.macs, "sep_macs": d.macs, "std_params": s.weights,
            "sep_params": d.weights, "macs_ratio": _ratio(d.macs, s.macs),
            "params_ratio": _ratio(d.weights, s.weights)}


def _find_separable(a, v, g) -> list[str]:
    return [
        f"1/N + 1/D_K^2 = {g['macs_ratio']:.6f} is exactly the ratio of both costs: the D_F^2 "
        f"factor cancels for MACs ({g['std_macs'] / g['sep_macs']:.2f}x fewer), and params "
        f"are {g['std_params'] / g['sep_params']:.2f}x fewer.",
        "alpha thins M and N (cost about alpha^2, channels truncated as MobileNet's "
        "int(alpha*c)); rho shrinks D_F (MACs about rho^2, params unchanged).",
    ]


def _count_flattened(v: Mapping[str, Number]) -> dict[str, Number]:
    pad = "same" if v["same"] else "valid"
    size = (v["p"], v["q"])
    std = _network("standard", v["m"], size,
                   [f"conv: {{out: {v['n']}, kernel: [{v['ky']}, {v['kx']}], pad: {pad}}}"])
    flat = _network("flattened", v["m"], size, [
        f"conv: {{name: lateral, out: {v['n']}, kernel: 1}}",
        f"conv: {{name: vertical, kernel: [{v['ky']}, 1], groups: depthwise, pad: {pad}}}",
        f"conv: {{name: horizontal, kernel: [1, {v['kx']}], groups: depthwise, pad: {pad}}}"])
    s, f = std.totals, flat.totals
    return {"std_params": s.weights, "flat_params": f.weights, "std_macs": s.macs,
            "flat_macs": f.macs, "params_ratio": _ratio(f.weights, s.weights),
            "macs_ratio": _ratio(f.macs, s.macs)}


def _find_flattened(a, v, g) -> list[str]:
    stated = v["stated"]
    out = [
        "The blog calls the expression a saving; it is the fraction of the cost that remains "
        f"(here {_pct(stated)}), the saving is 1 minus it ({_pct(1 - stated)}).",
        "The algebra is right, and the expression is exactly the params ratio of a rank-one "
        f"(lateral M->N, vertical K_y x 1, horizontal 1 x K_x) layer: {g['params_ratio']:.6f}.",
    ]
    if _agree(stated, g["macs_ratio"]):
        out.append("With stride 1 and 'same' padding every stage has the output's D_F^2 "
                   "positions, so it is also the MACs ratio.")
    else:
        out.append(f"With 'valid' padding it is not the MACs ratio: the stages run on "
                   f"different map sizes, the counted ratio is {g['macs_ratio']:.6f} "
                   f"({(g['macs_ratio'] / stated - 1) * 100:+.2f}% vs the expression).")
    return out


def _count_lowrank(v: Mapping[str, Number]) -> dict[str, Number]:
    # A (m x n) times B (n x p): a 1x1 conv from n to m channels over p positions.
    full = _network("full", v["n"], (1, v["p"]), [f"conv: {{out: {v['m']}, kernel: 1}}"])
    low = _network("factored", v["n"], (1, v["p"]), [f"conv: {{name: A2, out: {v['k']}}}",
                                                    f"conv: {{name: A1, out: {v['m']}}}"])
    ratio = _ratio(low.totals.macs, full.totals.macs)
    return {"full_macs": full.totals.macs, "low_macs": low.totals.macs,
            "full_params": full.totals.weights, "low_params": low.totals.weights,
            "exact_ratio": ratio, "stated_ratio": ratio}


def _find_lowrank(a, v, g) -> list[str]:
    m, n, k = a["m"], a["n"], a["k"]
    exact, stated = g["exact_ratio"], v["stated"]
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


def _count_asymmetric(v: Mapping[str, Number]) -> dict[str, Number]:
    size = (v["size"], v["size"])
    n, c = v["n"], v["c"]
    full = _network("nxn", c, size, [f"conv: {{out: {c}, kernel: {n}, pad: same}}"])
    fact = _network("1xn+nx1", c, size, [f"conv: {{out: {c}, kernel: [1, {n}], pad: same}}",
                                         f"conv: {{out: {c}, kernel: [{n}, 1], pad: same}}"])
    return _factored(full, fact, "fact")


def _find_asymmetric(a, v, g) -> list[str]:
    return [f"{a['n']}x{a['n']} -> 1x{a['n']} + {a['n']}x1 keeps {_pct(1 - g['saving'])} of "
            f"the params and MACs: {_pct(g['saving'])} fewer (the notes' 33% for 3x3)."]


def _count_stacked(v: Mapping[str, Number]) -> dict[str, Number]:
    size = (v["size"], v["size"])
    k, c = v["k"], v["c"]
    full = _network("kxk", c, size, [f"conv: {{out: {c}, kernel: {k}, pad: same}}"])
    stack = _network("3x3 stack", c, size,
                     [f"conv: {{out: {c}, kernel: 3, pad: same, n: {v['layers']}}}"])
    return _factored(full, stack, "stack")


def _find_stacked(a, v, g) -> list[str]:
    return [f"{v['layers']} stacked 3x3 convs see the same {a['k']}x{a['k']} field with "
            f"{_pct(g['saving'])} fewer params and MACs (5x5 -> two 3x3: 18/25, 28% fewer)."]


def _count_shuffle_units(v: Mapping[str, Number]) -> dict[str, Number]:
    c, m, g = v["c"], v["m"], v["g"]
    size = (v["h"], v["w"])
    resnet = _network("ResNet unit", c, size, [
        f"conv: {{out: {m}, kernel: 1}}", f"conv: {{out: {m}, kernel: 3, pad: 1}}",
        f"conv: {{out: {c}, kernel: 1}}"])
    resnext = _network("ResNeXt unit", c, size, [
        f"conv: {{out: {m}, kernel: 1}}", f"conv: {{out: {m}, kernel: 3, pad: 1, groups: {g}}}",
        f"conv: {{out: {c}, kernel: 1}}"])
    shuffle = _network("ShuffleNet unit", c, size, [
        f"conv: {{out: {m}, kernel: 1, groups: {g}}}", f"shuffle: {{groups: {g}}}",
        "conv: {kernel: 3, pad: 1, groups: depthwise}",
        f"conv: {{out: {c}, kernel: 1, groups: {g}}}"])
    return {"resnet": resnet.totals.macs, "resnext": resnext.totals.macs,
            "shufflenet": shuffle.totals.macs}


def _find_shuffle_units(a, v, g) -> list[str]:
    return [f"At c={a['c']}, m={a['m']}, {a['h']}x{a['w']}, g={a['g']}: the ShuffleNet unit "
            f"costs {g['resnet'] / g['shufflenet']:.2f}x less than the ResNet unit and "
            f"{g['resnext'] / g['shufflenet']:.2f}x less than the ResNeXt unit, so for the "
            "same budget it can afford wider feature maps (Zhang et al. 2018, section 3.2)."]


def _count_v2_mac(v: Mapping[str, Number]) -> dict[str, Number]:
    h, w = v["h"], v["w"]
    r = _network("1x1 conv", v["c1"], (h, w), [f"conv: {{out: {v['c2']}, kernel: 1}}"])
    by_name = {row.name: row for row in r.layers}
    flops = r.totals.macs
    mac = by_name["input"].activations + r.layers[-1].activations + r.totals.weights
    return {"flops": flops, "mac": mac,
            "bound": 2 * math.sqrt(h * w * flops) + flops / (h * w)}


def _find_v2_mac(a, v, g) -> list[str]:
    gap = g["mac"] - g["bound"]
    equal = "equal, so the bound is reached" if a["c1"] == a["c2"] else \
        f"unequal, so MAC exceeds the bound by {gap:,.1f} ({_pct(gap / g['bound'])})"
    return [f"MAC = hw(c1+c2) + c1c2 >= 2 sqrt(hwB) + B/hw by AM-GM on c1 + c2 >= "
            f"2 sqrt(c1c2); here c1 and c2 are {equal} (guideline G1: equal channel widths "
            "minimize memory access cost for given FLOPs). ShuffleNet v2's 'MAC' is memory "
            "access cost, not multiply-accumulates."]


def _count_fire(v: Mapping[str, Number]) -> dict[str, Number]:
    bias = "true" if v["bias"] else "false"
    r = _network("fire", v["cin"], (v["size"], v["size"]), [
        f"conv: {{name: squeeze, out: {v['s1']}, kernel: 1, bias: {bias}}}",
        "parallel: {name: expand, merge: concat, branches: ["
        f"[conv: {{out: {v['e1']}, kernel: 1, bias: {bias}}}], "
        f"[conv: {{out: {v['e3']}, kernel: 3, pad: 1, bias: {bias}}}]]}}"])
    return {"params": r.totals.weights + r.totals.biases, "macs": r.totals.macs,
            "out_channels": r.layers[-1].output[0]}


def _find_fire(a, v, g) -> list[str]:
    three = 9 * v["s1"] * v["e3"]
    return [f"s1x1 = SR*e = {v['s1']}, e3x3 = pct3x3*e = {v['e3']}, e1x1 = {v['e1']}: "
            f"{g['params']:,} params, of which the 3x3 expand weights are "
            f"{_pct(three / g['params'])}; the squeeze layer caps the 3x3 filters' input "
            "channels at s1x1 (SqueezeNet strategy 2)."]


FORMULAS: dict[str, Formula] = {f.name: f for f in (
    Formula(
        "separable", "standard vs depthwise separable conv, with width alpha and resolution rho",
        "Howard et al. 2017 (MobileNet v1) section 3.1-3.3, Table 3; blog post (seed 000)",
        {"dk": 3, "m": 512, "n": 512, "df": 14, "alpha": 1.0, "rho": 1.0},
        (("M", "int(alpha * m)"), ("N", "int(alpha * n)"), ("F", "round(rho * df)")),
        (Quantity("std_macs", "standard conv MACs", "dk*dk*M*N*F*F", "std_macs"),
         Quantity("sep_macs", "separable MACs", "dk*dk*M*F*F + M*N*F*F", "sep_macs"),
         Quantity("std_params", "standard conv params", "dk*dk*M*N", "std_params"),
         Quantity("sep_params", "separable params", "dk*dk*M + M*N", "sep_params"),
         Quantity("macs_ratio", "MACs ratio", "1/N + 1/dk**2", "macs_ratio"),
         Quantity("params_ratio", "params ratio", "1/N + 1/dk**2", "params_ratio")),
        _count_separable, _find_separable),
    Formula(
        "flattened", "flattened (rank-one 1-D) conv vs standard conv: the blog's ratio",
        "blog post (seed 000), 'Flattened Network'; Jin, Dundar, Culurciello 2014",
        {"kx": 3, "ky": 3, "m": 64, "n": 64, "p": 32, "q": 32, "same": 1},
        (("stated", "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)"),),
        (Quantity("std_params", "standard params", "kx*ky*m*n", "std_params"),
         Quantity("flat_params", "flattened params", "kx*n + ky*n + m*n", "flat_params"),
         Quantity("params_ratio", "params ratio (stated)", "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)",
                  "params_ratio"),
         Quantity("macs_ratio", "MACs ratio (stated)", "1/(ky*m) + 1/(kx*m) + 1/(ky*kx)",
                  "macs_ratio")),
        _count_flattened, _find_flattened),
    Formula(
        "lowrank", "low-rank factorization A (m x n) = A1 (m x k) A2 (k x n): notes vs exact",
        "survey notes (seed 003), 'Low rank approximation'",
        {"m": 256, "n": 256, "k": 32, "p": 1},
        (("stated", "2*k/(m+n)"),),
        (Quantity("full_macs", "A B mult-adds", "m*n*p", "full_macs"),
         Quantity("low_macs", "A1 (A2 B) mult-adds", "k*(m+n)*p", "low_macs"),
         Quantity("full_params", "A entries", "m*n", "full_params"),
         Quantity("low_params", "A1, A2 entries", "k*(m+n)", "low_params"),
         Quantity("exact_ratio", "exact cost ratio", "k*(m+n)/(m*n)", "exact_ratio"),
         Quantity("stated_ratio", "notes' ratio", "2*k/(m+n)", "stated_ratio")),
        _count_lowrank, _find_lowrank),
    Formula(
        "asymmetric", "spatial factorization n x n -> 1 x n + n x 1",
        "survey notes (seed 001), Inception v3; Szegedy et al. 2016 section 3.2",
        {"n": 3, "c": 64, "size": 28}, (),
        (Quantity("full_params", "n x n params", "n*n*c*c", "full_params"),
         Quantity("fact_params", "1 x n + n x 1 params", "2*n*c*c", "fact_params"),
         Quantity("full_macs", "n x n MACs", "n*n*c*c*size*size", "full_macs"),
         Quantity("fact_macs", "1 x n + n x 1 MACs", "2*n*c*c*size*size", "fact_macs"),
         Quantity("saving", "fewer params", "1 - 2/n", "saving")),
        _count_asymmetric, _find_asymmetric),
    Formula(
        "stacked3x3", "spatial factorization k x k -> (k-1)/2 stacked 3 x 3 (5x5 -> two 3x3)",
        "survey notes (seed 001), Inception v2/v3; Szegedy et al. 2016 section 3.1",
        {"k": 5, "c": 64, "size": 28}, (("layers", "(k - 1) // 2"),),
        (Quantity("full_params", "k x k params", "k*k*c*c", "full_params"),
         Quantity("stack_params", "3 x 3 stack params", "9*layers*c*c", "stack_params"),
         Quantity("full_macs", "k x k MACs", "k*k*c*c*size*size", "full_macs"),
         Quantity("stack_macs", "3 x 3 stack MACs", "9*layers*c*c*size*size", "stack_macs"),
         Quantity("saving", "fewer params", "1 - 9*layers/(k*k)", "saving")),
        _count_stacked, _find_stacked),
    Formula(
        "shufflenet_unit", "bottleneck unit complexity: ResNet, ResNeXt, ShuffleNet",
        "Zhang et al. 2018 (ShuffleNet v1) section 3.2",
        {"c": 240, "m": 60, "h": 28, "w": 28, "g": 3}, (),
        (Quantity("resnet", "ResNet unit MACs", "h*w*(2*c*m + 9*m**2)", "resnet"),
         Quantity("resnext", "ResNeXt unit MACs", "h*w*(2*c*m + 9*m**2/g)", "resnext"),
         Quantity("shufflenet", "ShuffleNet unit MACs", "h*w*(2*c*m/g + 9*m)", "shufflenet")),
        _count_shuffle_units, _find_shuffle_units),
    Formula(
        "shufflenet_v2_mac", "memory access cost of a 1x1 conv and its lower bound (G1)",
        "Ma et al. 2018 (ShuffleNet v2) section 2, guideline G1",
        {"h": 56, "w": 56, "c1": 128, "c2": 128}, (),
        (Quantity("flops", "B = FLOPs (mult-adds)", "h*w*c1*c2", "flops"),
         Quantity("mac", "memory access cost", "h*w*(c1+c2) + c1*c2", "mac"),
         Quantity("bound", "lower bound", "2*(h*w*h*w*c1*c2)**0.5 + c1*c2", "bound")),
        _count_v2_mac, _find_v2_mac),
    Formula(
        "fire", "SqueezeNet fire module params from SR and pct3x3",
        "Iandola et al. 2016 (SqueezeNet) section 3.2 and 5; lecture deck (seed 002)",
        {"cin": 96, "e": 128, "sr": 0.125, "pct": 0.5, "bias": 1, "size": 55},
        (("s1", "round(sr * e)"), ("e3", "round(pct * e)"), ("e1", "e - e3")),
        (Quantity("params", "fire params",
                  "cin*s1 + s1*e1 + 9*s1*e3 + bias*(s1 + e1 + e3)", "params"),
         Quantity("macs", "fire MACs", "size*size*(cin*s1 + s1*e1 + 9*s1*e3)", "macs"),
         Quantity("out_channels", "output channels", "e1 + e3", "out_channels")),
        _count_fire, _find_fire),
)}


def list_formulas() -> list[Formula]:
    return list(FORMULAS.values())


def evaluate_formula(name: str, args: Mapping[str, Any] | None = None) -> FormulaResult:
    """Evaluate a formula's closed forms at `args` and count its layers in the engine."""
    if name not in FORMULAS:
        import difflib

        close = difflib.get_close_matches(name, FORMULAS, n=1)
        fix = f"did you mean '{close[0]}'?" if close else "run `costcalc formula --list`"
        raise CostcalcError(f"unknown formula '{name}'\n  fix: {fix}")
    formula = FORMULAS[name]
    values: dict[str, Any] = dict(formula.args)
    for key, value in (args or {}).items():
        if key not in formula.args:
            raise CostcalcError(f"formula '{name}': unknown argument '{key}'\n  fix: use "
                                + ", ".join(formula.args))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise CostcalcError(f"formula '{name}': '{key}' must be a non-negative number, "
                                f"got {value!r}")
        values[key] = value
    given = dict(values)
    derived = {}
    for key, text in formula.derived:
        derived[key] = values[key] = evaluate(text, values)
    try:
        counted = formula.count(values)
        closed = {q.key: evaluate(q.expression, values) for q in formula.quantities}
    except ZeroDivisionError:
        raise CostcalcError(f"formula '{name}': a divisor is zero at {given}") from None
    checks = []
    for q in formula.quantities:
        graph = counted[q.graph] if q.graph else None
        checks.append(Check(q.key, q.label, q.expression, closed[q.key], graph,
                            None if graph is None else _agree(closed[q.key], graph)))
    return FormulaResult(name, formula.description, formula.source, given, derived,
                         tuple(checks), tuple(formula.findings(given, values | closed,
                                                               counted)))
