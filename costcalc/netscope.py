"""Operation counts in Netscope's categories (dgschwend/netscope, the analyzer behind the lecture
deck's "Why smaller models?" table), following its rules (read from its analyzer's source)
without its bugs: a layer kind it has no rule for is an error, not a zero that poisons the rest,
and an elementwise product is counted as such.

Per layer, over the batch N (E_in, E_out: input and output elements, times N):

| op | MACC | COMP | ADD | DIV | EXP | params | activations |
|---|---|---|---|---|---|---|---|
| input | | | | | | | E_out |
| conv | k_h k_w C_in/g C_out H_out W_out N (no bias add) | | | | | weights + bias | E_out |
| fc | C_in H_in W_in C_out N | | | | | weights + bias | E_out |
| pool max | | H_out W_out k_h k_w C N (global: E_in) | | | | | E_out |
| pool avg | | | same | (the divide is not counted) | | | E_out |
| batchnorm (BatchNorm + Scale) | E_out (Scale) | | E_in | E_in | | 2C (mean, var) | 2 E_out |
| act relu, relu6, leaky_relu; dropout | | E_in | | | | | E_out |
| lrn (size n) | E_in n | | E_in | 2 E_in | E_in | 2 (alpha, beta) | E_out |
| softmax | | | E_in | E_in | E_in | | E_out |
| add (Eltwise SUM) | | | E of one input | | | | E_out |
| mul (Eltwise PROD) | E of one input | | | | | | E_out |
| concat, flatten | | | | | | | E_out |

Netscope has no rule for sigmoid, tanh, swish, hard-swish/sigmoid, channel shuffle, split,
channel padding or mixed depthwise conv (its 'anything else' row): those are errors here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import ops
from .errors import CostcalcError
from .metrics import Context
from .ops import Shape, as_pair

CATEGORIES = ("macc", "comp", "add", "div", "exp", "params", "activations")
COMPARISON_ACTS = frozenset({"relu", "relu6", "leaky_relu"})

Counts = dict[str, int]
Handler = Callable[[object, tuple[Shape, ...], Shape, int], Counts]


def _counts(**values: int) -> Counts:
    return {c: values.get(c, 0) for c in CATEGORIES}


def _conv(op, xs, y, n) -> Counts:
    weights = op.params(xs, y)
    return _counts(macc=n * op.macs(xs, y), params=weights.weights + weights.biases,
                   activations=n * y.numel)


def _pool(op, xs, y, n) -> Counts:
    x = xs[0]
    kh, kw = (x.h, x.w) if op.global_ else as_pair(op.kernel)
    work = n * x.numel if op.global_ else n * y.h * y.w * kh * kw * y.c
    return _counts(**{"comp" if op.op == "max" else "add": work}, activations=n * y.numel)


def _batchnorm(op, xs, y, n) -> Counts:
    e_in = n * xs[0].numel
    return _counts(macc=n * y.numel, add=e_in, div=e_in, params=2 * y.c,
                   activations=2 * n * y.numel)


def _act(op, xs, y, n) -> Counts:
    if op.fn not in COMPARISON_ACTS:
        raise CostcalcError(f"Netscope has no rule for the activation '{op.fn}' (its "
                            "comparison rule covers Caffe's ReLU, with a negative slope too, "
                            "ReLU6, ELU and PReLU)", "count it without --count netscope")
    return _counts(comp=n * xs[0].numel, activations=n * y.numel)


def _lrn(op, xs, y, n) -> Counts:
    e_in = n * xs[0].numel
    return _counts(macc=e_in * op.size, add=e_in, div=2 * e_in, exp=e_in, params=2,
                   activations=n * y.numel)


HANDLERS: Mapping[type, Handler] = {
    ops.Input: lambda op, xs, y, n: _counts(activations=n * y.numel),
    ops.Conv: _conv,
    ops.FC: _conv,
    ops.Pool: _pool,
    ops.BatchNorm: _batchnorm,
    ops.Act: _act,
    ops.Dropout: lambda op, xs, y, n: _counts(comp=n * xs[0].numel, activations=n * y.numel),
    ops.LRN: _lrn,
    ops.Softmax: lambda op, xs, y, n: _counts(add=n * xs[0].numel, div=n * xs[0].numel,
                                              exp=n * xs[0].numel, activations=n * y.numel),
    ops.Add: lambda op, xs, y, n: _counts(add=n * xs[0].numel, activations=n * y.numel),
    ops.Mul: lambda op, xs, y, n: _counts(macc=n * xs[0].numel, activations=n * y.numel),
    ops.Concat: lambda op, xs, y, n: _counts(activations=n * y.numel),
    ops.Flatten: lambda op, xs, y, n: _counts(activations=n * y.numel),
}


def counts(ctx: Context) -> Mapping[str, Counts]:
    """Every layer's Netscope counts, computed once per measurement."""
    if "netscope" not in ctx.cache:
        out = {}
        for layer in ctx.graph.layers:
            where = f"{ctx.graph.file}:{layer.line}: '{layer.name}'"
            handler = HANDLERS.get(type(layer.op))
            if handler is None:
                raise CostcalcError(f"{where}: Netscope has no rule for the layer kind "
                                    f"'{layer.kind}'", "count it without --count netscope")
            xs = tuple(ctx.shapes[src] for src in layer.inputs)
            try:
                out[layer.name] = handler(layer.op, xs, ctx.shapes[layer.name], ctx.batch)
            except CostcalcError as exc:
                raise CostcalcError(f"{where}: {exc.what}", exc.fix) from None
        ctx.cache["netscope"] = out
    return ctx.cache["netscope"]


def category(name: str):
    def visitor(ctx: Context) -> dict[str, int]:
        return {layer: c[name] for layer, c in counts(ctx).items()}

    return visitor
