"""Expansion: a Spec at given settings -> a Graph.

Blocks, repeats, branches, defaults and the width multiplier become a flat list of layers in
topological order. Expressions are evaluated as entries are expanded; they may use an entry's
input channels (`c_in`), so shapes are inferred layer by layer (through the same shape pass as
everything else) and expansion stops at the first problem.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import CostcalcError, Problem, SpecError
from .expr import ExprError, evaluate
from .graph import Graph, Layer
from .ops import OPS, Input, Shape
from .schema import SCHEMAS, FieldError, check_positive, coerce, did_you_mean
from .shapes import infer_layer
from .spec import BlockDef, Spec, Variant
from .yamlnodes import Node, plain


@dataclass
class _Scope:
    prefix: str
    names: dict[str, str]  # a user-visible name -> the layer that holds its output
    variables: dict[str, Any]
    group: str | None
    parent: _Scope | None = None
    counters: Counter = field(default_factory=Counter)

    def lookup(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None

    def visible(self) -> set[str]:
        out: set[str] = set()
        scope: _Scope | None = self
        while scope is not None:
            out |= set(scope.names)
            scope = scope.parent
        return out

    def auto_name(self, base: str) -> str:
        """The next free local name `base1`, `base2`, ... in this scope."""
        self.counters[base] += 1
        while f"{base}{self.counters[base]}" in self.names:
            self.counters[base] += 1
        return f"{base}{self.counters[base]}"


def build_graph(spec: Spec, width: float | None = None,
                resolution: int | tuple[int, int] | None = None,
                args: Mapping[str, Any] | None = None, variant: str | None = None) -> Graph:
    """Expand a spec at the given settings into a graph. Explicit settings override the
    variant's, which override the spec's."""
    chosen = _variant(spec, variant)
    alpha = width if width is not None else (chosen.width if chosen and chosen.width is not None
                                             else spec.width.multiplier)
    if not (isinstance(alpha, int | float) and 0 < alpha <= 16):
        raise CostcalcError(f"width multiplier must be in (0, 16], got {alpha}")
    res = resolution if resolution is not None else (chosen.resolution if chosen else None)
    size = spec.size if res is None else (res, res) if isinstance(res, int) else tuple(res)
    if min(size) < 1:
        raise CostcalcError(f"resolution must be positive, got {res}")
    values = dict(spec.args)
    for key, value in {**(chosen.args if chosen else {}), **(args or {})}.items():
        if key not in spec.args:
            raise CostcalcError(f"{spec.file}: unknown argument '{key}'\n  fix: "
                                + (did_you_mean(key, spec.args) if spec.args else
                                   "this spec declares no arguments"))
        values[key] = value
    return _Expander(spec, float(alpha), (size[0], size[1]), values).run()


def _variant(spec: Spec, name: str | None) -> Variant | None:
    if name is None:
        return None
    if name not in spec.variants:
        fix = did_you_mean(name, spec.variants) if spec.variants else \
            "this spec has no variants"
        raise CostcalcError(f"{spec.file}: unknown variant '{name}'\n  fix: {fix}")
    return spec.variants[name]


class _Expander:
    def __init__(self, spec: Spec, alpha: float, size: tuple[int, int], args: dict[str, Any]):
        self.spec, self.alpha, self.size, self.args = spec, alpha, size, args
        self.layers: list[Layer] = []
        self.shapes: dict[str, Shape] = {}

    def fail(self, line: int, what: str, fix: str = "") -> SpecError:
        return SpecError(Problem(self.spec.file, line, what, fix))

    def run(self) -> Graph:
        root = _Scope("", {"input": "input"}, {**self.args, "alpha": self.alpha}, None)
        self.add(Layer("input", Input(self.spec.channels, *self.size), (), 1))
        self.expand(self.spec.layers, root, "input")
        return Graph(self.spec.name, self.spec.source, self.spec.file, tuple(self.layers),
                     self.alpha, self.spec.paper_params)

    def add(self, layer: Layer) -> str:
        if layer.name in self.shapes:
            raise self.fail(layer.line, f"duplicate layer name '{layer.name}'",
                            "give each layer a unique name")
        self.shapes[layer.name] = infer_layer(layer, self.shapes, self.spec.file)
        self.layers.append(layer)
        return layer.name

    def expression(self, text: str, variables: Mapping[str, Any], line: int) -> Any:
        try:
            return evaluate(text, variables)
        except ExprError as exc:
            raise self.fail(line, exc.what, exc.fix) from None

    def coerce(self, hint: Any, node: Node, variables: Mapping[str, Any], what: str) -> Any:
        try:
            value = coerce(hint, plain(node), lambda t: self.expression(t, variables, node.line))
            check_positive(what, value)
            return value
        except FieldError as exc:
            raise self.fail(node.line, f"{what}: {exc.what}", exc.fix) from None

    # -- lists of entries

    def expand(self, node: Node, scope: _Scope, current: str) -> str:
        items = node.value
        for index, item in enumerate(items):
            (kind, body), = item.value.items()
            fields: dict[str, Node] = body.value if isinstance(body.value, dict) else {}
            variables = {**scope.variables, "c_in": self.shapes[current].c}
            if "when" in fields and not self.coerce(bool, fields["when"], variables, "when"):
                continue
            inputs = self.inputs(fields, scope, current, items, index, item.line)
            variables["c_in"] = self.shapes[inputs[0]].c
            repeats = self.coerce(int, fields["n"], variables, "n") if "n" in fields else 1
            user_name = fields["name"].value if "name" in fields else None
            for rep in range(repeats):
                if user_name is None:
                    local = scope.auto_name(_base_name(kind, fields))
                else:
                    local = user_name if repeats == 1 else f"{user_name}_{rep + 1}"
                current = self.entry(kind, fields, inputs, scope.prefix + local, item.line,
                                     scope, rep)
                scope.names[local] = current
                inputs = (current,)
            if user_name is not None:
                scope.names[user_name] = current
        return current

    def inputs(self, fields: Mapping[str, Node], scope: _Scope, current: str, items: list[Node],
               index: int, line: int) -> tuple[str, ...]:
        if "inputs" not in fields:
            return (current,)
        resolved = []
        for ref in fields["inputs"].value:
            target = scope.lookup(ref.value)
            if target is None:
                raise self._unknown_input(ref, scope, items, index)
            resolved.append(target)
        if not resolved:
            raise self.fail(line, "'inputs' is empty", "name at least one input layer")
        return tuple(resolved)

    def _unknown_input(self, ref: Node, scope: _Scope, items: list[Node], index: int) -> Exception:
        names = [_entry_name(item) for item in items]
        if ref.value in names[index:]:
            later = names.index(ref.value, index)
            if path := _path(items, names, later, index):
                flow = [*reversed(path), index]
                cycle = " -> ".join(names[i] or f"line {items[i].line}" for i in flow)
                return self.fail(ref.line, f"cycle: {cycle}",
                                 "a layer cannot depend on its own output")
            return self.fail(ref.line, f"'{ref.value}' is used before it is defined (line "
                             f"{items[later].line})", "list layers in dependency order")
        return self.fail(ref.line, f"unknown layer '{ref.value}' in inputs",
                         did_you_mean(ref.value, scope.visible()))

    # -- one entry

    def entry(self, kind: str, fields: Mapping[str, Node], inputs: tuple[str, ...],
              name: str, line: int, scope: _Scope, rep: int) -> str:
        if kind == "parallel":
            return self.parallel(fields, inputs, name, line, scope)
        if kind in self.spec.blocks:
            return self.block(self.spec.blocks[kind], fields, inputs, name, line, scope, rep)
        return self.op(kind, fields, inputs, name, line, scope, rep)

    def op(self, kind: str, fields: Mapping[str, Node], inputs: tuple[str, ...],
           name: str, line: int, scope: _Scope, rep: int) -> str:
        schema = SCHEMAS[kind]
        merged = {**self.spec.defaults.get(kind, {}), **fields}
        variables = {**scope.variables, "c_in": self.shapes[inputs[0]].c}
        kwargs = {}
        for key, node in merged.items():
            if key in schema.keys:
                kwargs[schema.keys[key]] = self.coerce(schema.hints[schema.keys[key]], node,
                                                       variables, f"{kind}: '{key}'")
        if rep > 0 and "stride" in kwargs:  # the papers' n/s convention: stride on the first
            kwargs["stride"] = 1
        scale = self.coerce(bool, merged["scale"], variables, "scale") if "scale" in merged \
            else True
        if kwargs.get("out") is not None and scale:
            kwargs["out"] = self.spec.width.apply(kwargs["out"], self.alpha)
        try:
            layer_op = schema.cls(**kwargs)
        except TypeError as exc:  # a required field missing after defaults
            raise self.fail(line, f"{kind}: {exc}") from None
        current = self.add(Layer(name, layer_op, inputs, line, scope.group))
        norm = merged.get("norm")
        if norm is not None and norm.value != "none":
            current = self.add(Layer(f"{name}.bn", OPS["batchnorm"](), (current,), norm.line,
                                     scope.group))
        act = merged.get("act")
        if act is not None and act.value != "none":
            current = self.add(Layer(f"{name}.{act.value}", OPS["act"](act.value), (current,),
                                     act.line, scope.group))
        return current

    def block(self, block: BlockDef, fields: Mapping[str, Node], inputs: tuple[str, ...],
              name: str, line: int, scope: _Scope, rep: int) -> str:
        caller = {**scope.variables, "c_in": self.shapes[inputs[0]].c}
        values: dict[str, Any] = {}
        for arg, default in block.args.items():
            later = rep > 0 and arg in block.repeat
            node = block.repeat[arg] if later else fields.get(arg, default)
            values[arg] = self.coerce(float, node, caller, f"block '{block.name}': '{arg}'")
            if isinstance(values[arg], float) and values[arg].is_integer() and not isinstance(
                    node.value, float):
                values[arg] = int(values[arg])
        if len(inputs) != 1:
            raise self.fail(line, f"block '{block.name}' takes one input, got {len(inputs)}")
        inner = _Scope(f"{name}.", {"input": inputs[0]},
                       {**self.args, "alpha": self.alpha, **values,
                        "c_in": self.shapes[inputs[0]].c}, scope.group or name, scope)
        out = self.expand(block.layers, inner, inputs[0])
        if block.residual is None:
            return out
        inner.variables["c_out"] = self.shapes[out].c
        return self.residual(block.residual, inner, inputs[0], out, name)

    def residual(self, node: Node, scope: _Scope, block_input: str, out: str, name: str) -> str:
        entries = node.value if isinstance(node.value, dict) else {"when": node}
        if "when" in entries and not self.coerce(bool, entries["when"], scope.variables,
                                                 "residual"):
            return out
        shortcut = block_input
        if "shortcut" in entries:
            sub = _Scope(f"{name}.shortcut.", {"input": block_input}, scope.variables,
                         scope.group, scope)
            shortcut = self.expand(entries["shortcut"], sub, block_input)
        merge = entries["merge"].value if "merge" in entries else "add"
        line = node.line
        current = self.add(Layer(f"{name}.{merge}", OPS[merge](), (shortcut, out), line,
                                 scope.group))
        if "act" in entries and entries["act"].value != "none":
            fn = entries["act"].value
            current = self.add(Layer(f"{name}.{fn}", OPS["act"](fn), (current,),
                                     entries["act"].line, scope.group))
        return current

    def parallel(self, fields: Mapping[str, Node], inputs: tuple[str, ...], name: str,
                 line: int, scope: _Scope) -> str:
        merge = fields["merge"].value if "merge" in fields else "concat"
        if len(inputs) != 1:
            raise self.fail(line, f"parallel takes one input, got {len(inputs)}")
        outs = []
        for j, branch in enumerate(fields["branches"].value, start=1):
            sub = _Scope(f"{name}.{j}.", {"input": inputs[0]}, scope.variables, scope.group,
                         scope)
            outs.append(self.expand(branch, sub, inputs[0]))
        return self.add(Layer(name, OPS[merge](), tuple(outs), line, scope.group))


def _base_name(kind: str, fields: Mapping[str, Node]) -> str:
    """Auto names: conv1, conv2, ...; a parallel entry is named after its merge (concat1)."""
    if kind == "parallel":
        return fields["merge"].value if "merge" in fields else "concat"
    return kind


def _entry_name(item: Node) -> str | None:
    (body,) = item.value.values()
    if isinstance(body.value, dict) and "name" in body.value:
        return body.value["name"].value
    return None


def _deps(items: list[Node], names: list[str | None], i: int) -> list[int]:
    (body,) = items[i].value.values()
    fields = body.value if isinstance(body.value, dict) else {}
    if "inputs" not in fields:
        return [i - 1] if i > 0 else []
    return [names.index(ref.value) for ref in fields["inputs"].value if ref.value in names]


def _path(items: list[Node], names: list[str | None], start: int, goal: int) -> list[int]:
    """A dependency path from entry `start` back to entry `goal`, or [] if there is none."""
    stack, seen = [(start, [start])], set()
    while stack:
        i, path = stack.pop()
        if i == goal:
            return path
        if i in seen:
            continue
        seen.add(i)
        stack.extend((d, path + [d]) for d in _deps(items, names, i))
    return []

