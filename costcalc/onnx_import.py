"""ONNX import: an ONNX graph as a readable costcalc spec (optional extra `[onnx]`).

Each supported node becomes one spec entry named after its output tensor (dots, which spec
names cannot hold, become underscores), with explicit `inputs`, so the spec is the graph as
written; patterns that exporters spell in several nodes are recognized as one layer: Flatten
before Gemm, a Reshape-Transpose-Reshape channel shuffle, a Split into depthwise convolutions
that a Concat joins (MixNet's mixed kernels), Mul(x, Sigmoid(x)) stays two layers. A node kind
with no importer is an error that lists every such node, never a silent zero.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .errors import CostcalcError, optional_module
from .ops import MDConv

ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "LeakyRelu": "leaky_relu",
               "HardSwish": "hswish", "HardSigmoid": "hsigmoid"}
PASSTHROUGH = {"Identity", "Dropout"}
# A conv's `bias` is always written: its spec default depends on `norm:` (expand.default_bias).
DEFAULTS = {"conv": {"stride": [1, 1], "pad": [0, 0, 0, 0], "dilation": 1, "groups": 1},
            "pool": {"pad": [0, 0, 0, 0], "ceil": False}, "fc": {"bias": True},
            "mdconv": {"stride": 1},
            "deconv": {"stride": [1, 1], "pad": [0, 0], "output_pad": [0, 0], "dilation": 1,
                       "groups": 1},
            "upsample": {"mode": "nearest"}, "crop": {"offset": "center"},
            "prelu": {"shared": False}, "unpool": {"kernel": 2, "stride": 2},
            "lstm": {"num_layers": 1, "bidirectional": False, "bias": True},
            "gru": {"num_layers": 1, "bidirectional": False, "bias": True}}
RECURRENT = {"LSTM": "lstm", "GRU": "gru"}
# Nodes evaluated at import when every input is a constant (Shape: when shape inference knows
# its input's dimensions): the shape arithmetic exporters emit, such as torch.onnx's
# Shape -> Gather -> Unsqueeze -> Concat -> Reshape for x.view(x.size(0), -1)
FOLDABLE = {"Constant", "Identity", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast",
            "Reshape", "Slice", "Add", "Sub", "Mul", "Div", "ConstantOfShape"}
ARITHMETIC = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply}
MIN_OPSET = 11
UNPRICED = "unpriced"  # the op kind of a node imported with --allow-unknown (costcalc/ops.py)
LAYOUT = {"Transpose", "Reshape"}  # around an LSTM/GRU: its sequence layout, not a layer


def _onnx() -> Any:
    return optional_module("onnx", "ONNX import", "onnx")


def load_model(path: str | Path) -> Any:
    onnx = _onnx()
    try:
        return onnx.load(str(path))
    except FileNotFoundError:
        raise CostcalcError(f"{path}: no such file") from None
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types for a bad file
        raise CostcalcError(f"{path}: not a readable ONNX model ({type(exc).__name__})",
                            "check that the file is complete and is an ONNX model") from None


def check_opset(model: Any, file: str) -> int:
    """The model's default-domain opset, which must be 11 (where Clip, Pad, Resize and Slice
    take their bounds as inputs) through the newest the installed onnx package knows."""
    onnx = _onnx()
    versions = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    newest = onnx.defs.onnx_opset_version()
    if not versions:
        raise CostcalcError(f"{file}: the model imports no ONNX operator set",
                            "export it with an ONNX opset (11 or newer)")
    if versions[0] < MIN_OPSET:
        raise CostcalcError(f"{file}: opset {versions[0]} is older than {MIN_OPSET}, the oldest "
                            "costcalc imports",
                            "re-export with opset 11 or newer (torch.onnx.export(..., "
                            "opset_version=17)) or convert it with onnx.version_converter")
    if versions[0] > newest:
        raise CostcalcError(f"{file}: opset {versions[0]} is newer than {newest}, the newest the "
                            f"installed onnx package ({onnx.__version__}) knows",
                            "upgrade the onnx package, or re-export with an older opset")
    return versions[0]


def parse_input_shape(text: str) -> tuple[int, ...]:
    """`1x3x224x224` as (1, 3, 224, 224)."""
    parts = text.lower().split("x")
    if len(parts) != 4 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise CostcalcError(f"--input-shape {text!r} is not N x C x H x W",
                            "give four positive integers joined by x, such as 1x3x224x224")
    return tuple(int(p) for p in parts)


def fix_batch(model: Any) -> None:
    """A dynamic batch dimension (torch.onnx's dynamic_axes={'x': {0: 'batch'}}) read as 1:
    costcalc counts one image (--batch scales a report), and shape inference then knows every
    tensor, so the shape subgraphs fold. Other dynamic dimensions still need --input-shape."""
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) == 1 and len(inputs[0].type.tensor_type.shape.dim) == 4:
        batch = inputs[0].type.tensor_type.shape.dim[0]
        if not batch.HasField("dim_value") or batch.dim_value == 0:
            batch.dim_value = 1


def fix_input_shape(model: Any, dims: tuple[int, ...], file: str) -> None:
    """Give the graph's one input fixed N x C x H x W dimensions (--input-shape)."""
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    if len(inputs) != 1:
        raise CostcalcError(f"{file}: the graph has {len(inputs)} inputs",
                            "costcalc imports graphs with one image input")
    shape = inputs[0].type.tensor_type.shape
    if len(dims) != 4 or len(shape.dim) != 4:
        raise CostcalcError(f"{file}: --input-shape {'x'.join(map(str, dims))} for the input "
                            f"'{inputs[0].name}' of rank {len(shape.dim)}",
                            "give N x C x H x W, such as --input-shape 1x3x224x224")
    for dim, value in zip(shape.dim, dims, strict=True):
        if dim.HasField("dim_value") and dim.dim_value not in (0, value):
            raise CostcalcError(f"{file}: --input-shape {'x'.join(map(str, dims))} contradicts "
                                f"the input '{inputs[0].name}' of fixed dimension "
                                f"{dim.dim_value}", "give the dimensions the model fixes")
        dim.dim_value = value


class _Importer:
    def __init__(self, model: Any, file: str, allow_unknown: bool = False):
        self.onnx, self.file = _onnx(), file
        self.graph = model.graph
        self.init = {t.name: self.onnx.numpy_helper.to_array(t) for t in self.graph.initializer}
        self.consumers: dict[str, list[Any]] = {}
        self.producer: dict[str, Any] = {}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
            for name in node.output:
                self.producer[name] = node
        self.order: list[str] = []  # the tensors layers produce, in order (crop references)
        self.outputs = {o.name for o in self.graph.output}
        self.stacks: dict[str, int] = {}  # an LSTM/GRU's Y -> the index of its layer entry
        self.names: dict[str, str] = {}  # ONNX tensor -> spec layer name
        self.used: Counter[str] = Counter()
        self.layers: list[dict[str, Any]] = []
        self.skip: set[int] = set()  # nodes folded into a recognized pattern
        self.allow_unknown = allow_unknown
        self.fold_constants()

    def attrs(self, node: Any) -> dict[str, Any]:
        return {a.name: self.onnx.helper.get_attribute_value(a) for a in node.attribute}

    def fold_constants(self) -> None:
        """Evaluate every node of FOLDABLE whose inputs are constants, in graph order, into a
        constant of its output; such a node is no layer."""
        for index, node in enumerate(self.graph.node):
            if node.op_type in FOLDABLE:
                value = self.evaluate(node)
                if value is not None:
                    self.init[node.output[0]] = value
                    self.skip.add(index)

    def evaluate(self, node: Any) -> np.ndarray | None:
        """A node's constant output, or None when an input is not constant."""
        op, a = node.op_type, self.attrs(node)
        if op == "Constant":
            if "value" in a:
                return self.onnx.numpy_helper.to_array(a["value"])
            key = next((k for k in ("value_float", "value_floats", "value_int", "value_ints")
                        if k in a), None)
            return None if key is None else np.asarray(a[key])
        if op == "Shape":
            dims = self.dims(node.input[0], required=False)
            if not dims or 0 in dims:
                return None
            return np.asarray(dims[a.get("start", 0):a.get("end", len(dims))], np.int64)
        if any(name and name not in self.init for name in node.input):
            return None
        args = [self.init[name] if name else None for name in node.input]
        x = args[0]
        if op == "Identity":
            return x
        if op == "Gather":
            return np.take(x, args[1], axis=int(a.get("axis", 0)))
        if op in ("Unsqueeze", "Squeeze"):
            given = args[1] if len(args) > 1 and args[1] is not None else a.get("axes")
            axes = None if given is None else [int(i) for i in np.ravel(given)]
            if op == "Squeeze":
                return np.squeeze(x, axis=None if axes is None else tuple(axes))
            rank = x.ndim + len(axes or [])
            for axis in sorted(i % rank for i in axes or []):
                x = np.expand_dims(x, axis)
            return x
        if op == "Concat":
            return np.concatenate(args, axis=int(a["axis"]))
        if op == "Cast":
            return x.astype(self.onnx.helper.tensor_dtype_to_np_dtype(a["to"]))
        if op == "Reshape":
            shape = [x.shape[i] if s == 0 else int(s) for i, s in enumerate(args[1])]
            return x.reshape(shape)
        if op == "Slice":
            axes = args[3] if len(args) > 3 and args[3] is not None else range(len(args[1]))
            steps = args[4] if len(args) > 4 and args[4] is not None else [1] * len(args[1])
            index = [slice(None)] * x.ndim
            for start, end, axis, step in zip(args[1], args[2], axes, steps, strict=True):
                index[int(axis)] = slice(int(start), int(end), int(step))
            return x[tuple(index)]
        if op == "ConstantOfShape":
            fill = self.onnx.numpy_helper.to_array(a["value"]) if "value" in a else \
                np.zeros(1, np.float32)
            return np.full([int(d) for d in x], fill.ravel()[0], fill.dtype)
        if op == "Div":
            if np.issubdtype(x.dtype, np.integer):
                return np.trunc(x / args[1]).astype(x.dtype)  # ONNX integer Div truncates
            return x / args[1]
        return ARITHMETIC[op](x, args[1])

    def name(self, tensor: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", tensor) or "layer"
        self.used[base] += 1
        name = base if self.used[base] == 1 else f"{base}_{self.used[base]}"
        self.names[tensor] = name
        return name

    def ref(self, tensor: str) -> str:
        if tensor not in self.names:
            raise CostcalcError(f"{self.file}: tensor '{tensor}' is used before any node "
                                "produces it")
        return self.names[tensor]

    def add(self, kind: str, output: str, inputs: list[str], **fields: Any) -> None:
        """One entry; its `inputs` only when they are not the previous layer, and only the
        fields that differ from the kind's defaults, so the spec reads as written by hand."""
        refs = [self.ref(i) for i in inputs]
        previous = next(iter(self.layers[-1].values()))["name"] if self.layers else "input"
        defaults = DEFAULTS.get(kind, {})
        entry = {"name": self.name(output), **({} if refs == [previous] else {"inputs": refs}),
                 **{k: v for k, v in fields.items() if defaults.get(k, object()) != v}}
        self.layers.append({kind: entry})
        self.order.append(output)

    def alias(self, output: str, source: str) -> None:
        self.names[output] = self.ref(source)

    def spec(self) -> dict[str, Any]:
        inputs = [i for i in self.graph.input if i.name not in self.init]
        if len(inputs) != 1:
            raise CostcalcError(f"{self.file}: the graph has {len(inputs)} inputs",
                                "costcalc imports graphs with one image input")
        dims = [d.dim_value if d.HasField("dim_value") else None
                for d in inputs[0].type.tensor_type.shape.dim]
        if len(dims) != 4 or None in dims[1:]:
            raise CostcalcError(f"{self.file}: the input '{inputs[0].name}' has dimensions "
                                f"{dims}", "give them with --input-shape, such as "
                                "--input-shape 1x3x224x224 (in Python, input_shape=(1, 3, "
                                "224, 224)), or export the model with a fixed input")
        self.names[inputs[0].name] = "input"
        self.order.append(inputs[0].name)
        unknown = [(i, n) for i, n in enumerate(self.graph.node)
                   if i not in self.skip and not self.supported(n)]
        if unknown and not self.allow_unknown:
            nodes: dict[str, list[str]] = {}
            for _, n in unknown:
                nodes.setdefault(n.op_type, []).append(repr(n.name or n.output[0]))
            listed = ", ".join(f"{op} ({len(names)}: {', '.join(names[:5])}"
                               f"{', ...' if len(names) > 5 else ''})"
                               for op, names in sorted(nodes.items()))
            raise CostcalcError(f"{self.file}: no importer for {listed}",
                                "costcalc imports the ops listed in docs/onnx.md; "
                                "--allow-unknown imports these as unpriced layers (zero cost, "
                                "totals then lower bounds)")
        unpriced = {i for i, _ in unknown}
        for index, node in enumerate(self.graph.node):
            if index in unpriced:
                self.unpriced(node)
            elif index not in self.skip:
                try:
                    self.node(index, node)
                except KeyError as missing:  # an initializer lookup: the input is computed
                    raise CostcalcError(f"{self.file}: {node.op_type} '{node.name}' reads "
                                        f"{missing} as a computed tensor where costcalc needs "
                                        "a constant (an initializer)",
                                        "export with constant folding on (torch.onnx's "
                                        "do_constant_folding=True)") from None
        return {"version": 1, "name": self.graph.name or Path(self.file).stem,
                "source": f"imported from {Path(self.file).name}",
                "input": {"channels": dims[1], "size": [dims[2], dims[3]]},
                "layers": self.layers}

    def unpriced(self, node: Any) -> None:
        """A node with no importer (--allow-unknown): an `unpriced` layer whose output shape
        is what ONNX shape inference gives its first output; no shape is an error."""
        where = f"{self.file}: {node.op_type} '{node.name or node.output[0]}'"
        dims = self.dims(node.output[0], required=False)
        if len(dims) not in (2, 4) or 0 in dims:
            raise CostcalcError(f"{where} has no importer and ONNX shape inference gives no "
                                f"N x C x H x W (or N x C) shape for its output (got {dims})",
                                "give the model fixed input dimensions (--input-shape), or "
                                "replace the node")
        if any(self.consumers.get(o) or o in self.outputs for o in node.output[1:]):
            raise CostcalcError(f"{where} has no importer and more than one output in use",
                                "costcalc imports an unknown node with one output")
        inputs = [i for i in node.input if i and i not in self.init]
        if not inputs:
            raise CostcalcError(f"{where} has no importer and reads no tensor of the network")
        c, h, w = (dims + [1, 1])[1:4]
        self.add(UNPRICED, node.output[0], inputs, op_type=node.op_type, out=c, size=[h, w])

    def supported(self, node: Any) -> bool:
        return node.op_type in {"Conv", "Gemm", "MatMul", "ReduceMean", "BatchNormalization",
                                "Clip", "Add", "Mul",
                                "Concat", "Split", "Slice", "Pad", "MaxPool", "AveragePool",
                                "GlobalAveragePool", "GlobalMaxPool", "Flatten", "Reshape",
                                "Transpose", "Softmax", "LRN", "ConvTranspose", "Resize",
                                "MaxUnpool", "PRelu", "Gather", "Cast", "Squeeze", *RECURRENT,
                                *ACTIVATIONS, *PASSTHROUGH}

    # -- one node

    def node(self, index: int, node: Any) -> None:
        op, a, out = node.op_type, self.attrs(node), node.output[0]
        if op in LAYOUT and self.around_recurrent(node):
            self.alias(out, node.input[0])
        elif op == "Conv":
            self.conv(node, a)
        elif op == "Gemm":
            weight = self.init[node.input[1]]
            out_features = weight.shape[0] if a.get("transB", 0) else weight.shape[1]
            self.add("fc", out, [node.input[0]], out=int(out_features),
                     bias=len(node.input) > 2)
        elif op == "MatMul":
            self.matmul(node)
        elif op == "ReduceMean":
            self.reduce_mean(node, a)
        elif op == "BatchNormalization":
            self.add("batchnorm", out, [node.input[0]])
        elif op in ACTIVATIONS:
            self.add("act", out, [node.input[0]], fn=ACTIVATIONS[op])
        elif op == "Clip":
            low, high = (float(self.init[n]) if n in self.init else None
                         for n in (list(node.input[1:3]) + ["", ""])[:2])
            if (low, high) != (0.0, 6.0):
                raise CostcalcError(f"{self.file}: Clip '{node.name}' to ({low}, {high})",
                                    "costcalc imports Clip(0, 6) as ReLU6 only")
            self.add("act", out, [node.input[0]], fn="relu6")
        elif op in ("Add", "Mul"):
            if any(i in self.init for i in node.input):
                raise CostcalcError(f"{self.file}: {op} '{node.name}' with a constant operand "
                                    "is not a layer costcalc counts",
                                    "costcalc imports Add and Mul of layers' outputs, and an "
                                    "Add of a bias after a MatMul")
            self.add(op.lower(), out, list(node.input))
        elif op == "Concat":
            self.add("concat", out, list(node.input))
        elif op in ("MaxPool", "AveragePool"):
            kernel = [int(k) for k in a["kernel_shape"]]
            top, left, bottom, right = (int(p) for p in a.get("pads", [0, 0, 0, 0]))
            self.add("pool", out, [node.input[0]], op="max" if op == "MaxPool" else "avg",
                     kernel=kernel, stride=[int(s) for s in a.get("strides", [1, 1])],
                     pad=[top, bottom, left, right], ceil=bool(a.get("ceil_mode", 0)))
            if len(node.output) > 1 and node.output[1]:
                self.alias(node.output[1], out)  # its indices: an unpool names the pool
        elif op == "ConvTranspose":
            self.deconv(node, a)
        elif op == "Resize":
            self.resize(node, a)
        elif op == "MaxUnpool":
            source = self.producer.get(node.input[1])
            if source is None or source.op_type != "MaxPool" or node.input[1] != \
                    source.output[-1] or len(node.input) > 2 and node.input[2]:
                raise CostcalcError(f"{self.file}: MaxUnpool '{node.name}' does not read the "
                                    "indices of a MaxPool, or gives an output_shape",
                                    "costcalc imports MaxUnpool(x, MaxPool's indices)")
            kernel, strides = (set(int(k) for k in a.get(key, [1, 1]))
                               for key in ("kernel_shape", "strides"))
            if len(kernel) != 1 or len(strides) != 1:
                raise CostcalcError(f"{self.file}: MaxUnpool '{node.name}' is not square")
            self.add("unpool", out, [node.input[0], node.input[1]], kernel=kernel.pop(),
                     stride=strides.pop())
        elif op == "PRelu":
            slope = self.init[node.input[1]]
            self.add("prelu", out, [node.input[0]], shared=bool(slope.size == 1))
        elif op in ("Cast", "Squeeze"):
            follow = {"Cast": {"Squeeze", "Gather"}, "Squeeze": {"Gather"}}[op]
            if not all(c.op_type in follow for c in self.consumers.get(out, [])):
                raise CostcalcError(f"{self.file}: {op} '{node.name}' does not lead to an "
                                    "embedding's Gather", "see docs/onnx.md")
            self.alias(out, node.input[0])  # the token ids on their way to a lookup
        elif op == "Gather":
            self.gather(node, a)
        elif op in RECURRENT:
            self.recurrent(node, a)
        elif op in ("GlobalAveragePool", "GlobalMaxPool"):
            self.add("pool", out, [node.input[0]], op="avg" if "Average" in op else "max",
                     **{"global": True})
        elif op == "Flatten":
            if self.feeds_fc(out):
                self.alias(out, node.input[0])  # Gemm flattens its input itself
            else:
                self.add("flatten", out, [node.input[0]])
        elif op == "Reshape":
            self.reshape(index, node)
        elif op == "Slice":
            self.slice(node)
        elif op == "Pad":
            self.pad(node)
        elif op == "Split":
            self.split(index, node)
        elif op == "Softmax":
            self.add("softmax", out, [node.input[0]])
        elif op == "LRN":
            self.add("lrn", out, [node.input[0]], size=int(a["size"]))
        elif op in PASSTHROUGH:
            self.add("dropout", out, [node.input[0]])
        else:  # Transpose outside a shuffle
            raise CostcalcError(f"{self.file}: {op} '{node.name}' is not part of a pattern "
                                "costcalc recognizes", "see docs/onnx.md")

    def feeds_fc(self, tensor: str) -> bool:
        """Only a Gemm or MatMul reads it: a flatten before an fc, which flattens itself."""
        readers = self.consumers.get(tensor, [])
        return bool(readers) and all(c.op_type in ("Gemm", "MatMul") for c in readers) and \
            tensor not in self.outputs

    def matmul(self, node: Any) -> None:
        """MatMul(x, W) with a constant K x N weight on a flattened x: an fc of N outputs; an
        Add of a constant N-vector after it (and nothing else reading the product) is its
        bias."""
        weight = self.init.get(node.input[1])
        x = self.dims(node.input[0], required=False)
        if weight is None or weight.ndim != 2 or (x and len(x) != 2):
            raise CostcalcError(f"{self.file}: MatMul '{node.name}' is not a flattened input "
                                "times a constant matrix",
                                "costcalc imports MatMul(N x K input, K x N weight) as fc")
        out, readers = node.output[0], self.consumers.get(node.output[0], [])
        bias = False
        if len(readers) == 1 and readers[0].op_type == "Add" and out not in self.outputs:
            other = [i for i in readers[0].input if i != out]
            constant = self.init.get(other[0]) if len(other) == 1 else None
            if constant is not None and constant.size == weight.shape[1]:
                bias = True
                self.skip.add(list(self.graph.node).index(readers[0]))
                out = readers[0].output[0]
        self.add("fc", out, [node.input[0]], out=int(weight.shape[1]), bias=bias)

    def reduce_mean(self, node: Any, a: Mapping[str, Any]) -> None:
        """ReduceMean over H and W (axes an attribute before opset 18, an input from it) is a
        global average pool."""
        given = self.init.get(node.input[1]) if len(node.input) > 1 and node.input[1] else \
            a.get("axes")
        axes = None if given is None else sorted(int(i) % 4 for i in np.ravel(given))
        if axes != [2, 3]:
            raise CostcalcError(f"{self.file}: ReduceMean '{node.name}' is over axes {axes}",
                                "costcalc imports ReduceMean over H and W (axes [2, 3]) as "
                                "global average pooling")
        self.add("pool", node.output[0], [node.input[0]], op="avg", **{"global": True})

    def conv(self, node: Any, a: Mapping[str, Any]) -> None:
        weight = self.init[node.input[1]]
        top, left, bottom, right = (int(p) for p in a.get("pads", [0, 0, 0, 0]))
        dilations = {int(d) for d in a.get("dilations", [1, 1])}
        if len(dilations) != 1:
            raise CostcalcError(f"{self.file}: Conv '{node.name}' has unequal dilations")
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto != "NOTSET":
            (top, bottom), (left, right) = self.auto_pads(
                node, auto, weight.shape[2:4], [int(s) for s in a.get("strides", [1, 1])],
                next(iter(dilations)))
        self.add("conv", node.output[0], [node.input[0]], out=int(weight.shape[0]),
                 kernel=[int(weight.shape[2]), int(weight.shape[3])],
                 stride=[int(s) for s in a.get("strides", [1, 1])],
                 pad=[top, bottom, left, right], dilation=dilations.pop(),
                 groups=int(a.get("group", 1)), bias=len(node.input) > 2)

    def auto_pads(self, node: Any, auto: str, kernel: Any, strides: list[int],
                  dilation: int) -> list[tuple[int, int]]:
        """A Conv's auto_pad as explicit (before, after) pads per axis: VALID none, SAME_UPPER
        and SAME_LOWER out = ceil(in / stride), the odd pixel after (UPPER, TensorFlow's
        'same') or before (LOWER)."""
        if auto == "VALID":
            return [(0, 0), (0, 0)]
        if auto not in ("SAME_UPPER", "SAME_LOWER"):
            raise CostcalcError(f"{self.file}: Conv '{node.name}' has auto_pad {auto}")
        out = []
        for size, k, s in zip(self.dims(node.input[0])[2:4], kernel, strides, strict=True):
            total = max((-(-size // s) - 1) * s + dilation * (int(k) - 1) + 1 - size, 0)
            small, large = total // 2, total - total // 2
            out.append((small, large) if auto == "SAME_UPPER" else (large, small))
        return out

    def deconv(self, node: Any, a: Mapping[str, Any]) -> None:
        weight = self.init[node.input[1]]
        top, left, bottom, right = (int(p) for p in a.get("pads", [0, 0, 0, 0]))
        dilations = {int(d) for d in a.get("dilations", [1, 1])}
        if (top, left) != (bottom, right) or len(dilations) != 1 or "output_shape" in a or \
                a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise CostcalcError(f"{self.file}: ConvTranspose '{node.name}' has asymmetric "
                                "pads, unequal dilations, auto_pad or an output_shape",
                                "costcalc imports symmetric explicit pads (PyTorch's)")
        groups = int(a.get("group", 1))
        self.add("deconv", node.output[0], [node.input[0]], out=int(weight.shape[1]) * groups,
                 kernel=[int(weight.shape[2]), int(weight.shape[3])],
                 stride=[int(s) for s in a.get("strides", [1, 1])], pad=[top, left],
                 output_pad=[int(p) for p in a.get("output_padding", [0, 0])],
                 dilation=dilations.pop(), groups=groups, bias=len(node.input) > 2)

    def resize(self, node: Any, a: Mapping[str, Any]) -> None:
        """Resize (opset 11 on: X, roi, scales, sizes) as upsample: by an integer factor when
        both axes grow by it, else to a size."""
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if mode not in ("nearest", "linear"):
            raise CostcalcError(f"{self.file}: Resize '{node.name}' is {mode}",
                                "costcalc imports nearest and (bi)linear resizing")
        x = self.dims(node.input[0])
        given = [n for n in list(node.input[1:]) + ["", "", ""]][:3]
        if given[2] and given[2] in self.init:
            h, w = (int(v) for v in self.init[given[2]][2:4])
        elif given[1] and given[1] in self.init:
            h, w = (int(x[i] * float(self.init[given[1]][i])) for i in (2, 3))
        else:
            raise CostcalcError(f"{self.file}: Resize '{node.name}' has no constant scales "
                                "or sizes", "export with constant resize scales or sizes")
        size: dict[str, Any] = {"size": [h, w]}
        if h % x[2] == 0 and w % x[3] == 0 and h // x[2] == w // x[3]:
            size = {"factor": h // x[2]}
        self.add("upsample", node.output[0], [node.input[0]],
                 mode="bilinear" if mode == "linear" else "nearest", **size)

    def gather(self, node: Any, a: Mapping[str, Any]) -> None:
        """Gather(table, ids) -> Transpose to 1 x dim x H x W: an embedding (export's form)."""
        table = self.init.get(node.input[0])
        after = self.consumers.get(node.output[0], [])
        if table is None or table.ndim != 2 or int(a.get("axis", 0)) != 0 or len(after) != 1 \
                or after[0].op_type != "Transpose" \
                or list(self.attrs(after[0])["perm"]) != [0, 3, 1, 2]:
            raise CostcalcError(f"{self.file}: Gather '{node.name}' is not an embedding lookup",
                                "costcalc imports Gather(table, ids) + Transpose to N x C x "
                                "H x W as an embedding")
        self.skip.add(list(self.graph.node).index(after[0]))
        self.add("embedding", after[0].output[0], [node.input[1]], vocab=int(table.shape[0]),
                 dim=int(table.shape[1]))

    def recurrent(self, node: Any, a: Mapping[str, Any]) -> None:
        """An LSTM/GRU node; one that reads an equal one (through their sequence layout only)
        is its next stacked layer, `num_layers` + 1. The layer is named after its output
        (`layer_output`)."""
        direction = a.get("direction", b"forward")
        direction = direction.decode() if isinstance(direction, bytes) else direction
        if direction == "reverse" or any(n for n in node.input[4:]):
            raise CostcalcError(f"{self.file}: {node.op_type} '{node.name}' runs in reverse "
                                "or has sequence lengths or initial states",
                                "costcalc imports forward and bidirectional RNNs")
        kind = RECURRENT[node.op_type]
        fields = {"hidden": int(a["hidden_size"]), "bidirectional": direction == "bidirectional",
                  "bias": len(node.input) > 3 and bool(node.input[3])}
        name = self.layer_output(node.output[0])
        below = self.stacked_on(node)
        entry = self.layers[self.stacks[below]].get(kind) if below in self.stacks else None
        if entry is not None and all(entry.get(k, DEFAULTS[kind].get(k)) == v
                                     for k, v in fields.items()):
            entry["num_layers"] = entry.get("num_layers", 1) + 1
            if name != node.output[0]:  # the stack's layer output: name it after that
                old, entry["name"] = entry["name"], self.name(name)
                self.names.update({t: entry["name"] for t, n in self.names.items() if n == old})
            self.names[node.output[0]] = entry["name"]
            self.stacks[node.output[0]] = self.stacks[below]
            return
        self.add(kind, name, [node.input[0]], **fields)
        self.names[node.output[0]] = self.names[name]
        self.stacks[node.output[0]] = len(self.layers) - 1

    def layer_output(self, y: str) -> str:
        """What an LSTM/GRU layer is named after: the first graph output its layout nodes
        reach (export exposes each layer's N x C x H x W output), else Y itself."""
        tensor, after = y, self.consumers.get(y, [])
        while len(after) == 1 and after[0].op_type in LAYOUT and tensor not in self.outputs:
            tensor = after[0].output[0]
            after = self.consumers.get(tensor, [])
        return tensor if tensor in self.outputs else y

    def stacked_on(self, node: Any) -> str | None:
        """The Y of the LSTM/GRU this node reads through layout nodes alone, if that Y and
        every tensor on the way have no other reader and none is a graph output (a layer's
        output: the boundary between two layers)."""
        producer = self.producer.get(node.input[0])
        if node.input[0] in self.outputs or len(self.consumers.get(node.input[0], [])) != 1:
            return None
        while producer is not None and producer.op_type in LAYOUT:
            tensor = producer.input[0]
            if len(self.consumers.get(tensor, [])) != 1 or tensor in self.outputs:
                return None
            producer = self.producer.get(tensor)
        if producer is None or producer.op_type not in RECURRENT \
                or any(self.consumers.get(o) for o in producer.output[1:]):
            return None
        return producer.output[0]

    def around_recurrent(self, node: Any) -> bool:
        """A Transpose or Reshape on the way into or out of an LSTM/GRU (its sequence
        layout, steps x batch x features), through other such nodes."""
        producer = self.producer.get(node.input[0])
        while producer is not None and producer.op_type in LAYOUT:
            producer = self.producer.get(producer.input[0])
        if producer is not None and producer.op_type in RECURRENT:
            return True
        consumers = self.consumers.get(node.output[0], [])
        while len(consumers) == 1 and consumers[0].op_type in LAYOUT:
            consumers = self.consumers.get(consumers[0].output[0], [])
        return len(consumers) == 1 and consumers[0].op_type in RECURRENT

    def reshape(self, index: int, node: Any) -> None:
        shape = [int(s) for s in self.init[node.input[1]]]
        transpose = self.consumers.get(node.output[0], [])
        if len(shape) == 5 and len(transpose) == 1 and transpose[0].op_type == "Transpose" \
                and list(self.attrs(transpose[0])["perm"]) == [0, 2, 1, 3, 4]:
            back = self.consumers.get(transpose[0].output[0], [])
            if len(back) == 1 and back[0].op_type == "Reshape":
                self.skip |= {list(self.graph.node).index(transpose[0]),
                              list(self.graph.node).index(back[0])}
                self.add("shuffle", back[0].output[0], [node.input[0]], groups=shape[1])
                return
        if len(shape) == 2 and shape[1] in (-1, self.numel(node.input[0])):
            if self.feeds_fc(node.output[0]):  # x.view(x.size(0), -1) before a Linear
                self.alias(node.output[0], node.input[0])
            else:
                self.add("flatten", node.output[0], [node.input[0]])
            return
        if len(shape) == 4 and shape[2:] == [1, 1]:
            producer = next((n for n in self.graph.node if node.input[0] in n.output), None)
            if producer is not None and producer.op_type == "Gemm":
                self.alias(node.output[0], node.input[0])  # the FC's output kept 4-D
            else:
                self.add("flatten", node.output[0], [node.input[0]])
            return
        raise CostcalcError(f"{self.file}: Reshape '{node.name}' to {shape}",
                            "costcalc imports reshapes that flatten or shuffle channels")

    def slice(self, node: Any) -> None:
        starts, ends, axes = (list(self.init[n]) for n in node.input[1:4])
        if [int(x) for x in axes] == [2, 3]:
            self.crop(node, [int(x) for x in starts], [int(x) for x in ends])
            return
        if [int(x) for x in axes] != [1]:
            raise CostcalcError(f"{self.file}: Slice '{node.name}' is not on the channels")
        start, end = int(starts[0]), int(ends[0])
        width = end - start
        if width <= 0 or start % width:
            raise CostcalcError(f"{self.file}: Slice '{node.name}' [{start}:{end}] is not an "
                                "equal part of the channels")
        total = self.channels(node.input[0])
        if total % width:
            raise CostcalcError(f"{self.file}: Slice '{node.name}' is not an equal part")
        self.add("split", node.output[0], [node.input[0]], index=start // width,
                 parts=total // width)

    def crop(self, node: Any, starts: list[int], ends: list[int]) -> None:
        """A Slice of height and width is Caffe's crop, which takes its size from a reference
        layer: the latest tensor so far with the sliced size (the graph input included)."""
        size = [ends[0] - starts[0], ends[1] - starts[1]]
        reference = next((t for t in reversed(self.order)
                          if self.dims(t, required=False)[2:] == size), None)
        if reference is None:
            raise CostcalcError(f"{self.file}: Slice '{node.name}' crops to {size[0]}x{size[1]} "
                                "and no earlier tensor has that size",
                                "costcalc imports a crop to the size of an earlier layer")
        self.add("crop", node.output[0], [node.input[0], reference], offset=starts)

    def pad(self, node: Any) -> None:
        """Pad (pads an input from opset 11; axes, an input from 18, must be absent)."""
        if len(node.input) > 3 and node.input[3] or \
                self.attrs(node).get("mode", b"constant") not in (b"constant", "constant") \
                or node.input[1] not in self.init:
            raise CostcalcError(f"{self.file}: Pad '{node.name}' has axes, a mode other than "
                                "constant or pads that are not constant",
                                "costcalc imports constant zero-padding of channels")
        pads = [int(p) for p in self.init[node.input[1]]]
        if any(p for i, p in enumerate(pads) if i not in (1, 5)) or pads[1]:
            raise CostcalcError(f"{self.file}: Pad '{node.name}' pads more than the channel "
                                "end", "costcalc imports channel zero-padding only")
        self.add("pad_channels", node.output[0], [node.input[0]],
                 out=self.channels(node.input[0]) + pads[5])

    def split(self, index: int, node: Any) -> None:
        """Split -> one depthwise conv per part -> Concat: MixNet's mixed depthwise conv."""
        convs = [self.consumers.get(o, []) for o in node.output]
        if not all(len(c) == 1 and c[0].op_type == "Conv" for c in convs):
            raise CostcalcError(f"{self.file}: Split '{node.name}' does not feed one conv per "
                                "part", "costcalc imports Split as mixed depthwise convs only")
        joins = {self.consumers.get(c[0].output[0], [None])[0].name for c in convs}
        concat = next((n for n in self.graph.node if n.name in joins), None)
        if len(joins) != 1 or concat is None or concat.op_type != "Concat":
            raise CostcalcError(f"{self.file}: Split '{node.name}' is not joined by a Concat")
        nodes = list(self.graph.node)
        kernels, strides, parts = [], set(), []
        for (conv,) in convs:
            self.skip.add(nodes.index(conv))
            kernels.append(int(self.init[conv.input[1]].shape[2]))
            parts.append(int(self.init[conv.input[1]].shape[0]))
            strides.add(int(self.attrs(conv).get("strides", [1, 1])[0]))
        # the part sizes (an attribute before opset 13, an input from it, num_outputs from 18)
        # are read from the convs' weights: they must be MixNet's split, which mdconv assumes
        expected = MDConv(kernels=tuple(kernels)).splits(self.channels(node.input[0]))
        if parts != expected:
            raise CostcalcError(f"{self.file}: Split '{node.name}' into {parts} channels, not "
                                f"MixNet's split {expected}",
                                "costcalc's mdconv splits into equal parts, the remainder "
                                "to the first")
        self.skip.add(nodes.index(concat))
        self.add("mdconv", concat.output[0], [node.input[0]], kernels=kernels,
                 stride=strides.pop(), bias=len(convs[0][0].input) > 2)

    def numel(self, tensor: str) -> int:
        """A tensor's elements per image, from the model's shape information."""
        dims = self.dims(tensor)
        return int(np.prod(dims[1:]))

    def channels(self, tensor: str) -> int:
        """A tensor's channel count from the model's shape information."""
        return self.dims(tensor)[1]

    def dims(self, tensor: str, required: bool = True) -> list[int]:
        """A tensor's dimensions from the model's shape information ([] if unknown and not
        required)."""
        for info in list(self.graph.value_info) + list(self.graph.output) + \
                list(self.graph.input):
            if info.name == tensor:
                return [int(d.dim_value) for d in info.type.tensor_type.shape.dim]
        if not required:
            return []
        raise CostcalcError(f"{self.file}: no shape information for '{tensor}'",
                            "run onnx.shape_inference on the model first")


def import_model(path: str | Path, allow_unknown: bool = False,
                 input_shape: tuple[int, ...] | None = None) -> str:
    """The spec YAML text of an ONNX model. `allow_unknown`: nodes with no importer become
    `unpriced` layers (shapes from ONNX shape inference) instead of an error. `input_shape`
    (N, C, H, W): fixes the graph input's dimensions, for a model exported with dynamic ones."""
    model = load_model(path)
    onnx = _onnx()
    file = Path(path).name
    check_opset(model, file)
    if input_shape is not None:
        fix_input_shape(model, input_shape, file)
    else:
        fix_batch(model)
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shapes are only needed for some ops, which then say so
        pass
    spec = _Importer(model, file, allow_unknown).spec()
    layers = spec.pop("layers")
    head = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=100)
    lines = [yaml.safe_dump(entry, sort_keys=False, default_flow_style=True,
                            width=float("inf")).strip().removeprefix("{").removesuffix("}")
             for entry in layers]  # one layer per line, as the bundled specs are written
    return head + "layers:\n" + "".join(f"  - {line}\n" for line in lines)

