"""Training memory: weights, gradients, optimizer state and the activations a backward pass
needs, at a batch size (`costcalc report SPEC --training adam --batch 32`, docs/reports.md).

The four parts: weights, gradients and optimizer state at the weight dtype, the saved
activations at the activation dtype (no fp32 master copy is assumed: under mixed
precision a trainer that keeps one adds 4 B per trainable param, and its optimizer state is
usually fp32 too):

- weights: every trainable param (the framework convention: weights, biases, BN gamma/beta)
  plus the BN running statistics, which are stored but not trained;
- gradients: one per trainable param;
- optimizer state: per trainable param, SGD none, SGD with momentum one buffer (the velocity),
  Adam two (first and second moments);
- saved activations: the tensors the forward pass keeps for the backward pass, over the batch,
  by the rule of each layer kind below, each tensor counted once however many layers keep it
  (a ReLU's output that the next conv also keeps is one tensor), a flatten being a view of
  its input. Activation gradients (alive a layer or two at a time), workspaces and the
  allocator's overhead are not counted.

What each layer kind keeps (`RULES`; docs/reports.md has the same table):

- input: nothing (a layer that needs the image keeps it);
- conv, mdconv, deconv, fc, prelu, embedding: its input (for the weight gradient);
- batchnorm: its input, and a mean and an inverse std per channel;
- act relu, sigmoid, tanh: its output (the derivative is a function of it); any other
  function: its input;
- pool max, adaptive max pool: its input and its output (where each maximum was);
- pool avg, adaptive avg pool, add, concat, split, shuffle, crop, pad_channels, upsample,
  unpool, flatten: nothing (the gradient needs only the shapes; unpool's indices are the max
  pool's);
- mul: every input (the gradient of a product needs the other factor);
- softmax: its output; lrn: its input and its output;
- dropout: its mask, output-sized, counted at the dtype (PyTorch stores 1 B per element);
- lstm, gru: its input, and per stacked layer, direction and step the gate activations and
  the hidden state (and the LSTM's cell state);
- unpriced (an imported op with no cost rule): nothing, like its other counts, so the total
  is a lower bound.

torchinfo's "Forward/backward pass size" is a different measure, computed here too for
comparison: twice (forward and gradient) the outputs of the layers that have params, nothing
else: it ignores what activations, pooling and products keep and counts a BN's output, which
only the next layer may need.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import ops
from .errors import CostcalcError
from .metrics import Context, Training, nbytes
from .ops import Dim, Shape

# (which inputs are kept, whether the output is kept, extra elements) for one layer
Saved = tuple[tuple[int, ...], bool, Dim]
Rule = Callable[[object, tuple[Shape, ...], Shape], Saved]
OUTPUT_SAVING_ACTS = frozenset({"relu", "sigmoid", "tanh"})


def _nothing(op, xs, y) -> Saved:
    return (), False, 0


def _input(op, xs, y) -> Saved:
    return (0,), False, 0


def _pool(op, xs, y) -> Saved:
    return ((0,), True, 0) if op.op == "max" else ((), False, 0)


def _recurrent(op, xs, y) -> Saved:
    states = 2 if isinstance(op, ops.LSTM) else 1  # h and c, or h
    steps = xs[0].h * xs[0].w
    return (0,), False, steps * op.num_layers * op._dirs() * op.hidden * (op.gates + states)


RULES: Mapping[type, Rule] = {
    ops.Input: _nothing,
    ops.Conv: _input, ops.MDConv: _input, ops.Deconv: _input, ops.FC: _input,
    ops.PReLU: _input, ops.Embedding: _input,
    ops.BatchNorm: lambda op, xs, y: ((0,), False, 2 * y.c),
    ops.Act: lambda op, xs, y: ((), True, 0) if op.fn in OUTPUT_SAVING_ACTS else ((0,), False,
                                                                                  0),
    ops.Pool: _pool, ops.AdaptivePool: _pool,
    **{kind: _nothing for kind in (ops.Add, ops.Concat, ops.Split, ops.Shuffle, ops.Crop,
                                   ops.PadChannels, ops.Upsample, ops.Unpool, ops.Flatten)},
    ops.Mul: lambda op, xs, y: (tuple(range(len(xs))), False, 0),
    ops.Softmax: lambda op, xs, y: ((), True, 0),
    ops.LRN: lambda op, xs, y: ((0,), True, 0),
    ops.Dropout: lambda op, xs, y: ((), False, y.numel),
    ops.LSTM: _recurrent, ops.GRU: _recurrent,
    # no rule known: counted as keeping nothing, like its other counts (a lower bound)
    ops.Unpriced: _nothing,
}


def saved_elements(ctx: Context) -> dict[str, Dim]:
    """Elements kept for the backward pass per image, each tensor attributed to the layer that
    produced it (its storage: a flatten's is its input's), so the layers add up to the total."""
    if "saved" in ctx.cache:
        return ctx.cache["saved"]
    graph, shapes = ctx.graph, ctx.shapes
    storage: dict[str, str] = {}
    kept: set[str] = set()
    out: dict[str, Dim] = {}
    for layer in graph.layers:
        rule = RULES.get(type(layer.op))
        if rule is None:
            raise CostcalcError(f"{graph.file}:{layer.line}: '{layer.name}': no rule for what a "
                                f"'{layer.kind}' layer keeps for the backward pass",
                                "report it without --training")
        storage[layer.name] = storage[layer.inputs[0]] if isinstance(layer.op, ops.Flatten) \
            else layer.name
        xs = tuple(shapes[src] for src in layer.inputs)
        inputs, output, extra = rule(layer.op, xs, shapes[layer.name])
        kept |= {storage[layer.inputs[i]] for i in inputs}
        if output:
            kept.add(storage[layer.name])
        out[layer.name] = extra
    for name in out:
        if name in kept:
            out[name] = out[name] + shapes[name].numel
    ctx.cache["saved"] = out
    return out


def _training(ctx: Context) -> Training:
    training = ctx.settings.training
    assert training is not None  # the training family is measured only with it
    return training


def _trainable(ctx: Context) -> Dim:
    return sum(c.weights + c.biases + c.bn for c in ctx.counts.values())


def weight_bytes(ctx: Context) -> Dim:
    """Trainable params and BN running statistics, at the weight dtype."""
    return nbytes(_trainable(ctx) + sum(c.buffers for c in ctx.counts.values()), ctx.weight_bits)


def gradient_bytes(ctx: Context) -> Dim:
    return nbytes(_trainable(ctx), ctx.weight_bits)


def optimizer_state_bytes(ctx: Context) -> Dim:
    return nbytes(_training(ctx).state_buffers * _trainable(ctx), ctx.weight_bits)


def saved_activation_bytes(ctx: Context) -> dict[str, Dim]:
    return {n: nbytes(ctx.batch * v, ctx.act_bits) for n, v in saved_elements(ctx).items()}


def total_saved_activation_bytes(ctx: Context) -> Dim:
    """Rounded up once for the whole sum (sub-byte dtypes), not per layer."""
    return nbytes(ctx.batch * sum(saved_elements(ctx).values()), ctx.act_bits)


def training_bytes(ctx: Context) -> Dim:
    return (weight_bytes(ctx) + gradient_bytes(ctx) + optimizer_state_bytes(ctx)
            + total_saved_activation_bytes(ctx))


def torchinfo_pass_bytes(ctx: Context) -> Dim:
    """torchinfo's "Forward/backward pass size": 2 x the output bytes of every layer with
    params (its leaf modules with num_params > 0), over the batch."""
    outputs = sum(ctx.shapes[n].numel for n, c in ctx.counts.items()
                  if ops.any_true(c.weights + c.biases + c.bn > 0))
    return 2 * nbytes(ctx.batch * outputs, ctx.act_bits)
