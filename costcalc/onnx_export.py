"""ONNX export: any spec at any setting as a runnable ONNX graph (optional extra `[onnx]`).

Each layer becomes the ONNX nodes that compute it, and its output tensor keeps the layer's
name. Every tensor is kept four-dimensional, N × C × H × W with N = 1, so it compares directly
with costcalc's C × H × W shape: a fully connected layer flattens its input and reshapes its
output to C × 1 × 1, as a flatten layer does. Weights are zeros or seeded random numbers; their
element counts are costcalc's params (weights, biases, batch-norm scale and shift) and batch-norm
buffers (running mean and variance), so a runtime can check both. With `fold_bn`, a batch norm
after a conv, mdconv, fc or deconv is folded into that layer's weights and bias instead (the
initializers are then the params of `--params deploy`). An op kind with no exporter is an error
that names it, never a silent gap.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import CostcalcError, optional_module
from .graph import Graph, Layer
from .ops import (
    FC,
    GRU,
    LRN,
    LSTM,
    Act,
    AdaptivePool,
    Add,
    BatchNorm,
    Concat,
    Conv,
    Crop,
    Deconv,
    Dropout,
    Embedding,
    Flatten,
    Input,
    MDConv,
    Mul,
    PadChannels,
    Pool,
    PReLU,
    Recurrent,
    Shape,
    Shuffle,
    Softmax,
    Split,
    Unpool,
    Upsample,
    as_pair,
    ceil_div,
    pads,
)

OPSET = 17
CONSTANT = "const."  # initializers that are shapes or bounds, not parameters


def _onnx() -> Any:
    return optional_module("onnx", "ONNX export", "onnx")


EPSILON = 1e-5  # BatchNormalization's default epsilon, which folding uses too


def draw(seed: int | None, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """An initializer's values: zeros, or seeded random numbers drawn from the seed and the
    tensor's name alone (so a tensor has the same values whatever else is exported, folded or
    not). Weights are He-scaled (std sqrt(2 / fan-in)) so activations stay of order one through
    a deep network; batch norm gets non-trivial statistics (scale 0.5-1.5, shift, mean,
    variance 0.5-2), so that folding it is a real check."""
    if seed is None:
        return np.full(shape, 1.0 if name.endswith("running_var") else 0.0, np.float32)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    if name.endswith((".scale", "running_var")):
        return rng.uniform(0.5, 2.0 if name.endswith("var") else 1.5, shape).astype(np.float32)
    if name.endswith((".shift", "running_mean", ".bias", ".B")):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


@dataclass
class _Builder:
    onnx: Any
    seed: int | None
    nodes: list[Any]
    initializers: list[Any]
    indexed: frozenset[str] = frozenset()  # max pools whose indices an unpool reads
    folded: Mapping[str, Layer] = field(default_factory=dict)  # producer -> its batch norm

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        return draw(self.seed, name, shape)

    def put(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.ascontiguousarray(array, np.float32), name))
        return name

    def weight(self, name: str, shape: tuple[int, ...]) -> str:
        return self.put(name, self.array(name, shape))

    def constant(self, name: str, values: Any, dtype: Any = np.int64) -> str:
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.asarray(values, dtype=dtype), CONSTANT + name))
        return CONSTANT + name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output

    def affine(self, layer: Layer, channels: int) -> Fold | None:
        """The per-channel scale and shift of the batch norm folded into this layer (None
        when there is none): y = scale · x + shift, from the very values the unfolded export
        gives that batch norm."""
        bn = self.folded.get(layer.name)
        if bn is None:
            return None
        gamma, beta, mean, var = (self.array(f"{bn.name}.{part}", (channels,)) for part in
                                  ("scale", "shift", "running_mean", "running_var"))
        scale = gamma / np.sqrt(var.astype(np.float64) + EPSILON)
        return scale, beta - mean * scale

    def kernel(self, name: str, shape: tuple[int, ...], out: int, bias: bool,
               fold: Fold | None, channel: np.ndarray | None = None) -> list[str]:
        """A weight and its bias (when the layer has one) as initializers, with a folded batch
        norm's scale multiplied into the weight and its shift added to the bias (which then
        exists even if the layer had none). `channel`: each weight entry's output channel,
        broadcastable to `shape` (default: axis 0). Returns the initializer names."""
        weight = self.array(f"{name}.weight", shape).astype(np.float64)
        b = self.array(f"{name}.bias", (out,)).astype(np.float64) if bias else None
        if fold is not None:
            scale, shift = fold
            if channel is None:
                channel = np.arange(shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
            weight = weight * scale[channel]
            b = shift + (0.0 if b is None else b * scale)
        names = [self.put(f"{name}.weight", weight)]
        return names + ([self.put(f"{name}.bias", b)] if b is not None else [])


Fold = tuple[np.ndarray, np.ndarray]  # a batch norm as y = scale · x + shift per channel
Exporter = Callable[[_Builder, Layer, tuple[str, ...], tuple[Shape, ...], Shape], None]


def _conv_pads(x: Shape, kernel: tuple[int, int], stride: tuple[int, int], pad: Any,
               dilation: int) -> list[int]:
    """ONNX pads [top, left, bottom, right]; 'same' as TensorFlow (the extra pixel after)."""
    if pad != "same":
        top, bottom, left, right = pads(pad)
        return [top, left, bottom, right]
    out = []
    for size, k, s in zip((x.h, x.w), kernel, stride, strict=True):
        total = max((ceil_div(size, s) - 1) * s + dilation * (k - 1) + 1 - size, 0)
        out.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = out
    return [top, left, bottom, right]


def _conv(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
          y: Shape) -> None:
    op, x = layer.op, xs[0]
    assert isinstance(op, Conv)
    groups = x.c if op.groups == "depthwise" else op.groups
    kh, kw = as_pair(op.kernel)
    inputs = [ins[0], *b.kernel(layer.name, (y.c, x.c // groups, kh, kw), y.c, op.bias,
                                b.affine(layer, y.c))]
    b.node("Conv", inputs, layer.name, layer.name, kernel_shape=[kh, kw],
           strides=list(as_pair(op.stride)), dilations=[op.dilation, op.dilation],
           pads=_conv_pads(x, (kh, kw), as_pair(op.stride), op.pad, op.dilation),
           group=groups)


def _mdconv(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
            y: Shape) -> None:
    op, x = layer.op, xs[0]
    assert isinstance(op, MDConv)
    splits = op.splits(x.c)
    parts = [f"{layer.name}.part{i}" for i in range(len(splits))]
    b.nodes.append(b.onnx.helper.make_node("Split", [ins[0], b.constant(f"{layer.name}.split",
                                                                        splits)], parts,
                                           name=f"{layer.name}.split", axis=1))
    outs, start, fold = [], 0, b.affine(layer, y.c)
    for i, (part, c, k) in enumerate(zip(parts, splits, op.kernels, strict=True)):
        own = None if fold is None else (fold[0][start:start + c], fold[1][start:start + c])
        inputs = [part, *b.kernel(f"{layer.name}.{i}", (c, 1, k, k), c, op.bias, own)]
        start += c
        stride = (op.stride, op.stride)
        outs.append(b.node("Conv", inputs, f"{layer.name}.{i}", f"{layer.name}.{i}",
                           kernel_shape=[k, k], strides=list(stride), group=c,
                           pads=_conv_pads(Shape(c, x.h, x.w), (k, k), stride, "same", 1)))
    b.node("Concat", outs, layer.name, layer.name, axis=1)


def _fc(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
        y: Shape) -> None:
    op = layer.op
    assert isinstance(op, FC)
    flat = b.node("Flatten", [ins[0]], f"{layer.name}.flatten", f"{layer.name}.flatten", axis=1)
    inputs = [flat, *b.kernel(layer.name, (y.c, xs[0].numel), y.c, op.bias,
                              b.affine(layer, y.c))]
    gemm = b.node("Gemm", inputs, f"{layer.name}.gemm", f"{layer.name}.gemm", transB=1)
    b.node("Reshape", [gemm, b.constant(f"{layer.name}.shape", [1, y.c, 1, 1])],
           layer.name, layer.name)


def _pool(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
          y: Shape) -> None:
    op = layer.op
    assert isinstance(op, Pool)
    kind = "Max" if op.op == "max" else "Average"
    if op.global_:
        b.node(f"Global{kind}Pool", [ins[0]], layer.name, layer.name)
        return
    kernel, stride = as_pair(op.kernel), as_pair(op.stride)
    outputs = [layer.name]
    if layer.name in b.indexed:  # SegNet: an unpool puts values back where the maxima were
        outputs.append(indices(layer.name))
    b.nodes.append(b.onnx.helper.make_node(
        f"{kind}Pool", [ins[0]], outputs, name=layer.name, kernel_shape=list(kernel),
        strides=list(stride), pads=_conv_pads(xs[0], kernel, stride, op.pad, 1),
        ceil_mode=int(op.ceil)))


def indices(pool: str) -> str:
    """The tensor of a max pool's argmax indices, which MaxUnpool reads."""
    return f"{pool}.indices"


def _batchnorm(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
               y: Shape) -> None:
    names = [b.weight(f"{layer.name}.{part}", (y.c,))
             for part in ("scale", "shift", "running_mean", "running_var")]
    b.node("BatchNormalization", [ins[0], *names], layer.name, layer.name, epsilon=EPSILON)


def _act(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
         y: Shape) -> None:
    op, name = layer.op, layer.name
    assert isinstance(op, Act)
    fn = op.fn
    if fn == "relu6":
        bounds = [b.constant(f"{name}.{end}", value, np.float32) for end, value in
                  (("min", 0.0), ("max", 6.0))]
        b.node("Clip", [ins[0], *bounds], name, name)
    elif fn == "swish":
        gate = b.node("Sigmoid", [ins[0]], f"{name}.sigmoid", f"{name}.sigmoid")
        b.node("Mul", [ins[0], gate], name, name)
    elif fn == "hsigmoid":
        b.node("HardSigmoid", [ins[0]], name, name, alpha=1 / 6, beta=0.5)
    elif fn == "gelu":  # opset 17 has no Gelu (20): x * 0.5 * (1 + erf(x / sqrt(2)))
        half, one, root2 = (b.constant(f"{name}.{n}", v, np.float32) for n, v in
                            (("half", 0.5), ("one", 1.0), ("sqrt2", 2 ** 0.5)))
        scaled = b.node("Div", [ins[0], root2], f"{name}.div", f"{name}.div")
        erf = b.node("Erf", [scaled], f"{name}.erf", f"{name}.erf")
        gate = b.node("Add", [erf, one], f"{name}.add", f"{name}.add")
        halved = b.node("Mul", [ins[0], half], f"{name}.half", f"{name}.half")
        b.node("Mul", [halved, gate], name, name)
    elif fn == "mish":  # opset 17 has no Mish (18): x * tanh(softplus(x))
        soft = b.node("Softplus", [ins[0]], f"{name}.softplus", f"{name}.softplus")
        gate = b.node("Tanh", [soft], f"{name}.tanh", f"{name}.tanh")
        b.node("Mul", [ins[0], gate], name, name)
    else:
        onnx_op = {"relu": "Relu", "leaky_relu": "LeakyRelu", "hswish": "HardSwish",
                   "sigmoid": "Sigmoid", "tanh": "Tanh"}[fn]
        b.node(onnx_op, [ins[0]], name, name)


def _elementwise(onnx_op: str) -> Exporter:
    def export(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
               y: Shape) -> None:
        current = ins[0]
        for i, other in enumerate(ins[1:], start=1):
            last = i == len(ins) - 1
            current = b.node(onnx_op, [current, other], layer.name if last else
                             f"{layer.name}.{i}", layer.name if last else f"{layer.name}.{i}")

    return export


def _concat(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
            y: Shape) -> None:
    b.node("Concat", list(ins), layer.name, layer.name, axis=1)


def _shuffle(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
             y: Shape) -> None:
    op, x, name = layer.op, xs[0], layer.name
    assert isinstance(op, Shuffle)
    split = b.node("Reshape", [ins[0], b.constant(f"{name}.grouped",
                                                  [1, op.groups, x.c // op.groups, x.h, x.w])],
                   f"{name}.grouped", f"{name}.grouped")
    moved = b.node("Transpose", [split], f"{name}.transposed", f"{name}.transposed",
                   perm=[0, 2, 1, 3, 4])
    b.node("Reshape", [moved, b.constant(f"{name}.shape", [1, x.c, x.h, x.w])], name, name)


def _split(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
           y: Shape) -> None:
    op, name = layer.op, layer.name
    assert isinstance(op, Split)
    start = op.index * y.c
    b.node("Slice", [ins[0], b.constant(f"{name}.starts", [start]),
                     b.constant(f"{name}.ends", [start + y.c]),
                     b.constant(f"{name}.axes", [1])], name, name)


def _pad_channels(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
                  y: Shape) -> None:
    extra = y.c - xs[0].c
    b.node("Pad", [ins[0], b.constant(f"{layer.name}.pads", [0, 0, 0, 0, 0, extra, 0, 0])],
           layer.name, layer.name)


def _flatten(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
             y: Shape) -> None:
    b.node("Reshape", [ins[0], b.constant(f"{layer.name}.shape", [1, y.c, 1, 1])], layer.name,
           layer.name)


def _simple(onnx_op: str, **attrs: Any) -> Exporter:
    def export(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
               y: Shape) -> None:
        extra = {"size": layer.op.size} if isinstance(layer.op, LRN) else {}
        b.node(onnx_op, [ins[0]], layer.name, layer.name, **attrs, **extra)

    return export


def _deconv(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
            y: Shape) -> None:
    op, x = layer.op, xs[0]
    assert isinstance(op, Deconv)
    kh, kw = as_pair(op.kernel)
    ph, pw = as_pair(op.pad)
    per_group = (x.c // op.groups, y.c // op.groups)  # weight: C_in x C_out/groups x K x K
    channel = (np.arange(x.c)[:, None] // per_group[0]) * per_group[1] + \
        np.arange(per_group[1])[None, :]
    inputs = [ins[0], *b.kernel(layer.name, (x.c, per_group[1], kh, kw), y.c, op.bias,
                                b.affine(layer, y.c), channel[:, :, None, None])]
    b.node("ConvTranspose", inputs, layer.name, layer.name, kernel_shape=[kh, kw],
           strides=list(as_pair(op.stride)), dilations=[op.dilation, op.dilation],
           pads=[ph, pw, ph, pw], output_padding=list(as_pair(op.output_pad)),
           group=op.groups)


def _crop(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
          y: Shape) -> None:
    op, x, name = layer.op, xs[0], layer.name
    assert isinstance(op, Crop)
    top, left = ((x.h - y.h) // 2, (x.w - y.w) // 2) if op.offset == "center" else \
        as_pair(op.offset)
    b.node("Slice", [ins[0], b.constant(f"{name}.starts", [top, left]),
                     b.constant(f"{name}.ends", [top + y.h, left + y.w]),
                     b.constant(f"{name}.axes", [2, 3])], name, name)


def _upsample(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
              y: Shape) -> None:
    """Resize to explicit `sizes`, so the output size is costcalc's whatever the rounding of
    scales; nearest as PyTorch's (floor of the asymmetric source index), bilinear with
    half-pixel centres (PyTorch's align_corners=False)."""
    op, name = layer.op, layer.name
    assert isinstance(op, Upsample)
    modes = ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric",
              "nearest_mode": "floor"} if op.mode == "nearest" else
             {"mode": "linear", "coordinate_transformation_mode":
              "align_corners" if op.corners else "half_pixel"})
    b.node("Resize", [ins[0], "", "", b.constant(f"{name}.sizes", [1, y.c, y.h, y.w])], name,
           name, **modes)


def _adaptive_pool(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
                   y: Shape) -> None:
    """Uniform windows only: when the output size divides the input, PyTorch's adaptive
    windows are exactly a pool with kernel = stride = input / output."""
    op, x = layer.op, xs[0]
    assert isinstance(op, AdaptivePool)
    if x.h % y.h or x.w % y.w:
        raise CostcalcError(f"{layer.name}: adaptive pool from {x.h}x{x.w} to {y.h}x{y.w} has "
                            "windows of unequal sizes, which no ONNX pooling op computes",
                            "choose an input size that is a multiple of the output size")
    kernel = [x.h // y.h, x.w // y.w]
    b.node("MaxPool" if op.op == "max" else "AveragePool", [ins[0]], layer.name, layer.name,
           kernel_shape=kernel, strides=kernel)


def _unpool(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
            y: Shape) -> None:
    op = layer.op
    assert isinstance(op, Unpool)
    b.node("MaxUnpool", [ins[0], indices(ins[1])], layer.name, layer.name,
           kernel_shape=[op.kernel, op.kernel], strides=[op.stride, op.stride])


def _prelu(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
           y: Shape) -> None:
    op = layer.op
    assert isinstance(op, PReLU)
    slope = b.weight(f"{layer.name}.slope", (1,) if op.shared else (y.c, 1, 1))
    b.node("PRelu", [ins[0], slope], layer.name, layer.name)


def _embedding(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
               y: Shape) -> None:
    """1 x 1 x H x W token ids -> Cast -> Squeeze the channel -> Gather rows of the table
    (1 x H x W x dim) -> Transpose back to 1 x dim x H x W."""
    op, name = layer.op, layer.name
    assert isinstance(op, Embedding)
    ids = b.node("Cast", [ins[0]], f"{name}.ids", f"{name}.cast", to=b.onnx.TensorProto.INT64)
    ids = b.node("Squeeze", [ids, b.constant(f"{name}.axes", [1])], f"{name}.squeezed",
                 f"{name}.squeeze")
    rows = b.node("Gather", [b.weight(f"{name}.weight", (op.vocab, op.dim)), ids],
                  f"{name}.rows", f"{name}.gather", axis=0)
    b.node("Transpose", [rows], name, name, perm=[0, 3, 1, 2])


def _recurrent(b: _Builder, layer: Layer, ins: tuple[str, ...], xs: tuple[Shape, ...],
               y: Shape) -> None:
    """ONNX LSTM/GRU over H as the sequence and W as the batch: 1 x C x H x W -> H x W x C,
    one node per stacked layer (W, R and B = PyTorch's b_ih and b_hh, so the element counts
    are costcalc's params), then back to 1 x (directions · hidden) x H x W."""
    op, x, name = layer.op, xs[0], layer.name
    assert isinstance(op, Recurrent)
    onnx_op = "LSTM" if isinstance(op, LSTM) else "GRU"
    dirs, h, gates = op._dirs(), op.hidden, op.gates
    extra = {"linear_before_reset": 1} if isinstance(op, GRU) else {}  # PyTorch's GRU
    moved = b.node("Transpose", [ins[0]], f"{name}.steps", f"{name}.steps", perm=[2, 3, 0, 1])
    current = b.node("Reshape", [moved, b.constant(f"{name}.seq", [x.h, x.w, x.c])],
                     f"{name}.seq", f"{name}.seq")
    width = x.c
    for i in range(op.num_layers):
        part = f"{name}.l{i}"
        inputs = [current, b.weight(f"{part}.W", (dirs, gates * h, width)),
                  b.weight(f"{part}.R", (dirs, gates * h, h))]
        if op.bias:
            inputs.append(b.weight(f"{part}.B", (dirs, 2 * gates * h)))
        out = b.node(onnx_op, inputs, f"{part}.y", part, hidden_size=h,
                     direction="bidirectional" if dirs == 2 else "forward", **extra)
        # Y is steps x directions x batch x hidden; the next layer reads steps x batch x (d·h)
        out = b.node("Transpose", [out], f"{part}.moved", f"{part}.moved", perm=[0, 2, 1, 3])
        current = b.node("Reshape", [out, b.constant(f"{part}.seq", [x.h, x.w, dirs * h])],
                         f"{part}.seq", f"{part}.seq")
        width = dirs * h
    out = b.node("Transpose", [current], f"{name}.features", f"{name}.features",
                 perm=[2, 0, 1])
    b.node("Reshape", [out, b.constant(f"{name}.shape", [1, y.c, y.h, y.w])], name, name)


EXPORTERS: Mapping[type, Exporter] = {
    Conv: _conv, MDConv: _mdconv, FC: _fc, Pool: _pool, BatchNorm: _batchnorm, Act: _act,
    Add: _elementwise("Add"), Mul: _elementwise("Mul"), Concat: _concat, Shuffle: _shuffle,
    Split: _split, PadChannels: _pad_channels, Flatten: _flatten, LRN: _simple("LRN"),
    Dropout: _simple("Identity"), Softmax: _simple("Softmax", axis=1), Deconv: _deconv,
    Crop: _crop, Upsample: _upsample, AdaptivePool: _adaptive_pool, Unpool: _unpool,
    PReLU: _prelu, Embedding: _embedding, LSTM: _recurrent, GRU: _recurrent,
}


def foldable(graph: Graph) -> dict[str, Layer]:
    """The batch norms `--fold-bn` folds, by the layer they fold into: every batch norm whose
    input is a conv, mdconv, fc or deconv (`folds_bn`, the layers the deploy params convention
    folds) that nothing else reads. A batch norm after anything else stays a node."""
    readers: dict[str, int] = {}
    for layer in graph.layers:
        for src in layer.inputs:
            readers[src] = readers.get(src, 0) + 1
    producers = graph.by_name()
    return {layer.inputs[0]: layer for layer in graph.layers
            if isinstance(layer.op, BatchNorm) and producers[layer.inputs[0]].op.folds_bn
            and readers[layer.inputs[0]] == 1}


def export_graph(graph: Graph, shapes: Mapping[str, Shape], *, seed: int | None = None,
                 fold_bn: bool = False) -> Any:
    """An evaluated graph (shapes.shape_graph) as an ONNX ModelProto; every layer's output is
    also a graph output, so a runtime returns all of them. With `fold_bn`, each batch norm
    `foldable` names is folded into the layer before it (weights scaled, bias shifted): it has
    no node and no tensor of its own, and the layers that read it read that layer's output
    (named after that layer, as an inference graph's fused conv is)."""
    onnx = _onnx()
    indexed = frozenset(layer.inputs[1] for layer in graph.layers if isinstance(layer.op, Unpool))
    folded = foldable(graph) if fold_bn else {}
    into = {bn.name: producer for producer, bn in folded.items()}  # read the folded layer
    b = _Builder(onnx, seed, [], [], indexed, folded)
    unsupported = sorted({layer.kind for layer in graph.layers
                          if type(layer.op) not in EXPORTERS and not isinstance(layer.op, Input)})
    if unsupported:
        raise CostcalcError(f"{graph.file}: no ONNX exporter for {', '.join(unsupported)}",
                            "add one to costcalc/onnx_export.py EXPORTERS")
    first = graph.layers[0]
    outputs = []
    for layer in graph.layers:
        y = shapes[layer.name]
        if isinstance(layer.op, Input):
            inputs = [onnx.helper.make_tensor_value_info(layer.name, onnx.TensorProto.FLOAT,
                                                         [1, y.c, y.h, y.w])]
            continue
        xs = tuple(shapes[src] for src in layer.inputs)
        if layer.name in into:
            continue  # folded into the layer it reads
        EXPORTERS[type(layer.op)](b, layer, tuple(into.get(s, s) for s in layer.inputs), xs, y)
        outputs.append(onnx.helper.make_tensor_value_info(layer.name,
                                                          onnx.TensorProto.FLOAT,
                                                          [1, y.c, y.h, y.w]))
    assert isinstance(first.op, Input)
    model_graph = onnx.helper.make_graph(b.nodes, graph.name, inputs, outputs, b.initializers)
    model = onnx.helper.make_model(model_graph, producer_name="costcalc",
                                   opset_imports=[onnx.helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    return model


def parameter_counts(model: Any) -> dict[str, int]:
    """Element counts of a model's initializers by role: params (weights, biases, batch-norm
    scale and shift) and buffers (batch-norm running statistics); shape constants excluded."""
    counts = {"params": 0, "buffers": 0}
    for init in model.graph.initializer:
        if init.name.startswith(CONSTANT):
            continue
        size = int(np.prod(init.dims)) if init.dims else 1
        role = "buffers" if init.name.endswith(("running_mean", "running_var")) else "params"
        counts[role] += size
    return counts
