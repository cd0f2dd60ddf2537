"""Expansion: a Spec at given arguments -> a Graph.

Blocks, repeats, branches, residuals and defaults become a flat list of layers in topological
order. Expansion decides structure only: expressions over the spec's and the blocks' arguments
are evaluated here, while anything that reads a channel count (`c_in`, `c_out`) or the width
multiplier stays a dims Unknown in the layer's fields (or a `Condition` on the layer) for the
shape pass to evaluate, for one width or many at once. Nothing here infers a shape.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from . import limits
from .deployment import Density
from .dims import ALPHA, Channels, Scaled, field_value, is_known
from .errors import CostcalcError, Problem, SpecError, capped, did_you_mean
from .expr import CHANNELS, names_in
from .graph import Condition, Graph, Layer
from .ops import OPS, Input
from .schema import SCHEMAS, Field, FieldError, Number, coerce
from .spec import TEXT, BlockCall, BlockDef, Entry, OpCall, Parallel, Residual, Spec, Variant

MAX_ALPHA = 16


@dataclass
class _Scope:
    prefix: str
    names: dict[str, str]  # a user-visible name -> the layer that holds its output
    variables: dict[str, Any]
    group: str | None
    parent: _Scope | None = None
    counters: Counter = field(default_factory=Counter)
    texts: dict[str, str] = field(default_factory=dict)  # the block's text arguments
    # a local name -> the scope of the block instance, parallel or shortcut it names, whose
    # own names a dotted reference `name.inner` reads (`fire2.squeeze`, `mix.1.conv1`)
    inner: dict[str, _Scope] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # named entries `when` skipped
    title: str = "the network"  # what this scope is, for messages

    def sub(self, prefix: str, input_layer: str, local: str, title: str) -> _Scope:
        """A nested scope (a parallel branch, a shortcut) with the same arguments, which
        dotted names reach as `local`."""
        self.inner[local] = sub = _Scope(prefix, {"input": input_layer}, self.variables,
                                         self.group, self, texts=self.texts, title=title)
        return sub

    def lookup(self, name: str) -> str | None:
        """The layer holding the output of `name`, looked up here, then outward. A dotted
        name `b.x` is the layer `x` of the instance `b` (nearest `b` first), as reports name
        it; inside the instance, `x` means the same layer."""
        head, _, rest = name.partition(".")
        scope = self.defining(head)
        if scope is None:
            return None
        if not rest:
            return scope.names[head]
        inner, parts = _descend(scope, name)
        return inner.names.get(parts[0]) if len(parts) == 1 else None

    def defining(self, name: str) -> _Scope | None:
        """The nearest scope (this one or an enclosing one) that defines `name`."""
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.names:
                return scope
            scope = scope.parent
        return None

    def visible(self) -> set[str]:
        out: set[str] = set()
        scope: _Scope | None = self
        while scope is not None:
            out |= set(scope.names)
            scope = scope.parent
        return out

    def known(self, name: str) -> set[str]:
        """The names a reference `name` could have meant (dotted ones for a dotted name)."""
        return self.visible() | (self.dotted() if "." in name else set())

    def dotted(self) -> set[str]:
        """Every dotted name visible here (for did-you-mean)."""
        out: set[str] = set()
        scope: _Scope | None = self
        while scope is not None:
            out |= scope.below()
            scope = scope.parent
        return out

    def below(self) -> set[str]:
        """The dotted names of the layers inside this scope's instances: `b.x`, `b.c.y`."""
        out: set[str] = set()
        stack = [("", self)]
        while stack:
            prefix, scope = stack.pop()
            for local, child in scope.inner.items():
                out |= {f"{prefix}{local}.{name}" for name in child.names if name != "input"}
                stack.append((f"{prefix}{local}.", child))
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
    variant's, which override the spec's. The width is recorded on the graph, as the alpha the
    shape pass uses unless it is given another."""
    if not isinstance(spec, Spec):
        raise CostcalcError(f"build_graph takes a Spec (from load_spec or parse_spec), got "
                            f"{type(spec).__name__}")
    if args is not None and not isinstance(args, Mapping):
        raise CostcalcError(f"args must be a mapping of argument names to numbers, got "
                            f"{type(args).__name__}")
    check_resolution(resolution, spec.file)
    chosen = _variant(spec, variant)
    alpha = width if width is not None else (chosen.width if chosen and chosen.width is not None
                                             else spec.width.multiplier)
    check_width(alpha, spec.file)
    res = resolution if resolution is not None else (chosen.resolution if chosen else None)
    size = spec.size if res is None else (res, res) if isinstance(res, int) else tuple(res)
    values = dict(spec.args)
    for key, value in {**(chosen.args if chosen else {}), **(args or {})}.items():
        if key not in spec.args:
            raise CostcalcError(f"{spec.file}: unknown argument '{key}'",
                                did_you_mean(key, spec.args) if spec.args else
                                "this spec declares no arguments")
        if isinstance(value, bool):
            values[key] = value
            continue
        try:
            values[key] = coerce(Number, value, _no_text)
        except FieldError as exc:
            raise CostcalcError(f"{spec.file}: argument '{key}': {exc.what}", exc.fix) from None
    density = (*(chosen.density if chosen else ()), *spec.density)  # variant's, then spec's
    return _Expander(spec, values, dict(args or {})).run(float(alpha), (size[0], size[1]),
                                                         density)


def check_width(alpha: Any, file: str = "") -> None:
    """A width multiplier in (0, MAX_ALPHA]; `file` names the spec it was asked of."""
    if isinstance(alpha, bool) or not (isinstance(alpha, int | float) and 0 < alpha <= MAX_ALPHA):
        where = f"{file}: " if file else ""
        raise CostcalcError(f"{where}width multiplier must be in (0, {MAX_ALPHA}], got "
                            f"{alpha!r}",
                            f"give --width (in Python, width=) a number between 0 and {MAX_ALPHA}, "
                            "such as 0.5")


def check_resolution(res: Any, file: str = "") -> None:
    """None, a positive int, or a pair of them; `file` names the spec it was asked of."""
    items = res if isinstance(res, tuple | list) else (res,)
    if res is None:
        return
    if len(items) not in (1, 2) or not all(isinstance(v, int) and not isinstance(v, bool)
                                           and 1 <= v < 10**limits.current().max_int_digits
                                           for v in items):
        where = f"{file}: " if file else ""
        raise CostcalcError(f"{where}resolution must be a positive integer or a pair of them, "
                            f"got {res!r}", "give --resolution 224 or 224x160 (in Python, "
                            "resolution=224 or resolution=(224, 160))")


def _no_text(text: str) -> Any:
    raise FieldError(f"expected a number, got the text {text!r}")


def _variant(spec: Spec, name: str | None) -> Variant | None:
    if name is None:
        return None
    if name not in spec.variants:
        fix = did_you_mean(name, spec.variants) if spec.variants else \
            "this spec has no variants"
        raise CostcalcError(f"{spec.file}: unknown variant '{name}'", fix)
    return spec.variants[name]


Conditions = tuple[Condition, ...]


class _Expander:
    """Walks the spec model once, appending layers; `conditions` are the undecided `when`s of
    the entries being expanded, which every layer they produce carries."""

    def __init__(self, spec: Spec, args: dict[str, Any], given: Mapping[str, Any]):
        self.spec, self.args = spec, args
        self.given = given  # the arguments set by the caller (--set, args=)
        self.layers: list[Layer] = []
        self.max_layers = limits.current().max_layers
        self.sizes: dict[int, int] = {}  # id(entry) -> its fewest layers (see `least`)
        self.implicit_scale: set[str] = set()  # layers scaled by alpha without a `scale:`

    def fail(self, line: int, what: str, fix: str = "") -> SpecError:
        return SpecError(Problem(self.spec.file, line, what, fix))

    def run(self, alpha: float, size: tuple[int, int], density: tuple[Density, ...] = ()
            ) -> Graph:
        root = _Scope("", {"input": "input"}, {**self.args, "alpha": ALPHA}, None)
        self.add(Layer("input", Input(self.spec.channels, *size), (), 1))
        self.expand(self.spec.layers, root, "input", ())
        self.keep_output_width()
        return Graph(self.spec.name, self.spec.source, self.spec.file, tuple(self.layers),
                     alpha, self.spec.paper_params, density)

    def keep_output_width(self) -> None:
        """The network's output channels (its classes) do not change with alpha unless the
        spec asks: the layers that set them are not scaled unless they say `scale:`."""
        for i in output_layers(self.layers):
            layer = self.layers[i]
            op = layer.op
            if layer.name in self.implicit_scale and isinstance(op.out, Scaled):  # type: ignore
                self.layers[i] = replace(layer, op=replace(op, out=op.out.base))  # type: ignore

    def add(self, layer: Layer) -> str:
        if len(self.layers) >= self.max_layers:
            raise self._too_many(layer.line, "the network expands to more layers")
        self.layers.append(layer)
        return layer.name

    def _too_many(self, line: int, what: str) -> SpecError:
        return SpecError(Problem(self.spec.file, line, f"{what} than {self.max_layers:,} (limit "
                                 "max_layers)", limits.fix("max_layers")))

    def least(self, entry: Entry) -> int:
        """The fewest layers one repetition of an entry expands to (a repeat count written as
        an expression counts as 1), so that `n` x this is checked before expansion."""
        if id(entry) in self.sizes:
            return self.sizes[id(entry)]
        body = entry.body
        if isinstance(body, OpCall):
            size = 1 + sum(f is not None and f.constant and f.raw != "none"
                           for f in (body.norm, body.act))
        elif isinstance(body, Parallel):
            size = 1 + sum(self._least_all(branch) for branch in body.branches)
        else:
            size = self._least_all(self.spec.blocks[body.block].layers)
        self.sizes[id(entry)] = size = min(size, self.max_layers + 1)
        return size

    def _least_all(self, entries: tuple[Entry, ...]) -> int:
        total = 0
        for entry in entries:
            if entry.when is not None:
                continue  # may be skipped
            n = entry.n.value if entry.n is not None and entry.n.constant else 1
            total += n * self.least(entry)
        return min(total, self.max_layers + 1)

    def value(self, spec_field: Field, variables: Mapping[str, Any], scope: _Scope) -> Any:
        """A field's value: `channels(NAME)` in it reads layer NAME of `scope`; a field that
        names a text argument of the block takes the word the call passed. A value that does
        not fit because of an argument the caller set is the command line's problem."""
        try:
            return self._value(spec_field, variables, scope)
        except SpecError as exc:
            raw = spec_field.raw
            names = names_in(raw) if isinstance(raw, str) and not spec_field.constant else ()
            given = [name for name in sorted(names) if name in self.given
                     and variables.get(name) is self.args.get(name)]
            if not given:
                raise
            where = exc.problems[0]
            sets = " ".join(f"--set {name}={self.given[name]}" for name in given)
            value = self.given[given[0]]
            fix = f"give --set {given[0]} a whole number, e.g. --set {given[0]}={round(value)}" \
                if isinstance(value, float) and "integer" in where.what else \
                f"give --set {given[0]} a value the spec can use there"
            raise CostcalcError(f"{sets} (args= in Python): {where.what} (in "
                                f"{where.file}:{where.line})", fix) from None

    def _value(self, spec_field: Field, variables: Mapping[str, Any], scope: _Scope) -> Any:
        raw = spec_field.raw
        if spec_field.constant or not isinstance(raw, str):
            return field_value(spec_field, variables, self.spec.file)
        if raw in scope.texts and spec_field.hint is not TEXT:
            return field_value(replace(spec_field, raw=scope.texts[raw]), variables,
                               self.spec.file)
        layers = [name for name in names_in(raw) if name.startswith(CHANNELS + "(")]
        if layers:
            variables = dict(variables)
            for key in layers:
                layer = key[len(CHANNELS) + 1:-1]
                target = scope.lookup(layer)
                if target is None:
                    head = layer.partition(".")[0]
                    if head != layer and (defining := scope.defining(head)) is not None:
                        raise self._no_inner_layer(layer, spec_field.line, defining)
                    raise self.fail(spec_field.line, f"{spec_field.what}: unknown layer "
                                    f"'{layer}' in {key}", did_you_mean(layer, scope.known(layer)))
                variables[key] = Channels(target)
        return field_value(spec_field, variables, self.spec.file)

    def word(self, spec_field: Field | None, scope: _Scope) -> str | None:
        """A choice such as `act:` or `norm:`, as written or from a text argument."""
        if spec_field is None:
            return None
        if not spec_field.constant and spec_field.raw in scope.texts:
            return self.value(spec_field, {}, scope)
        return spec_field.raw

    def decide(self, test: Field, variables: Mapping[str, Any], bypass: str,
               conditions: Conditions, scope: _Scope) -> tuple[bool, Conditions]:
        """Whether to expand (False: skip now), and the conditions the layers carry."""
        value = self.value(test, variables, scope)
        if is_known(value):
            return bool(value), conditions
        return True, (*conditions, Condition(value, bypass))

    # -- lists of entries

    def expand(self, entries: tuple[Entry, ...], scope: _Scope, current: str,
               conditions: Conditions) -> str:
        for index, entry in enumerate(entries):
            variables = {**scope.variables, "c_in": Channels(current)}
            own = conditions
            if entry.when is not None:
                keep, own = self.decide(entry.when, variables, current, conditions, scope)
                if not keep:
                    if entry.name is not None:
                        scope.skipped[entry.name] = entry.line
                    continue
            inputs = self.inputs(entry, scope, current, entries, index)
            refs = self.layer_args(entry, scope, entries, index)
            variables["c_in"] = Channels(inputs[0])
            repeats = self.repeats(entry.n, variables, scope) if entry.n is not None else 1
            if len(self.layers) + repeats * self.least(entry) > self.max_layers:
                raise self._too_many(entry.line, f"{entry.kind} repeated {repeats:,} times "
                                     "expands the network to more layers")
            for rep in range(repeats):
                if entry.name is None:
                    local = scope.auto_name(_base_name(entry))
                else:
                    local = entry.name if repeats == 1 else f"{entry.name}_{rep + 1}"
                scope.inner.pop(local, None)  # a block or parallel entry sets its own
                current = self.entry(entry, inputs, local, scope, rep, own, refs)
                scope.names[local] = current
                inputs = (current,)
            if entry.name is not None and repeats > 0:  # n: 0 defines no layer of that name
                scope.names[entry.name] = current
                if local != entry.name:  # `x` is the last of x_1 ... x_n
                    scope.inner.pop(entry.name, None)
                    if local in scope.inner:
                        scope.inner[entry.name] = scope.inner[local]
        return current

    def repeats(self, n: Field, variables: Mapping[str, Any], scope: _Scope) -> int:
        value = self.value(n, variables, scope)
        if not is_known(value):
            raise self.fail(n.line, f"{n.what}: the number of repeats cannot depend on channel "
                            "counts or alpha", "use the spec's or the block's arguments")
        return value

    def inputs(self, entry: Entry, scope: _Scope, current: str, entries: tuple[Entry, ...],
               index: int) -> tuple[str, ...]:
        if entry.inputs is None:
            return (current,)
        resolved = []
        for ref in entry.inputs:
            target = scope.lookup(ref.name)
            if target is None:
                raise self._unknown_input(ref.name, ref.line, scope, entries, index)
            resolved.append(target)
        return tuple(resolved)

    def layer_args(self, entry: Entry, scope: _Scope, entries: tuple[Entry, ...],
                   index: int) -> dict[str, str]:
        """The layers a block call passes to the text arguments its block's `inputs:` name
        (`indices: down1.pool`), looked up as the call's own `inputs:` are."""
        body = entry.body
        if not isinstance(body, BlockCall):
            return {}
        refs = {}
        for arg in self.spec.blocks[body.block].layer_args:
            if (given := body.args.get(arg)) is not None:
                target = scope.lookup(given.raw)
                if target is None:
                    raise self._unknown_input(given.raw, given.line, scope, entries, index,
                                              f"{given.what} (a layer the block reads)")
                refs[arg] = target
        return refs

    def _unknown_input(self, name: str, line: int, scope: _Scope, entries: tuple[Entry, ...],
                       index: int, where: str = "inputs") -> Exception:
        head = name.partition(".")[0]
        if head != name and (defining := scope.defining(head)) is not None:
            return self._no_inner_layer(name, line, defining)
        names = [entry.name for entry in entries]
        if head in names[index:]:
            later = names.index(head, index)
            if path := _path(entries, names, later, index):
                flow = [*reversed(path), index]
                cycle = capped([names[i] or f"line {entries[i].line}" for i in flow], " -> ")
                return self.fail(line, f"cycle: {cycle}",
                                 "a layer cannot depend on its own output")
            return self.fail(line, f"'{name}' is used before it is defined (line "
                             f"{entries[later].line})", "list layers in dependency order")
        return self.fail(line, f"unknown layer '{name}' in {where}",
                         did_you_mean(name, scope.known(name)))

    def _no_inner_layer(self, name: str, line: int, scope: _Scope) -> Exception:
        """A dotted name whose first part `scope` defines, but that names no layer in it."""
        inner, parts = _descend(scope, name)
        reached = name[:len(name) - len(".".join(parts))]  # the instances followed, dotted
        first = parts[0]
        if len(parts) > 1 and first in inner.names:
            return self.fail(line, f"'{reached}{first}' is a layer, not a block instance, "
                             f"parallel or shortcut: '{name}' names no layer",
                             f"a dotted name reads a layer inside a block instance, e.g. "
                             f"'{reached}{first}' itself, or fire2.squeeze")
        if first in inner.skipped:
            fix = (f"its entry '{first}' (line {inner.skipped[first]}) is skipped there: its "
                   "`when` is false for this instance")
        else:
            fix = did_you_mean(name, {f"{reached}{n}" for n in inner.names if n != "input"}
                               | {reached + n for n in inner.below()})
        return self.fail(line, f"{inner.title} has no layer '{first}' (in '{name}')", fix)

    # -- one entry

    def entry(self, entry: Entry, inputs: tuple[str, ...], local: str, scope: _Scope, rep: int,
              conditions: Conditions, refs: Mapping[str, str]) -> str:
        body, name = entry.body, scope.prefix + local
        if isinstance(body, Parallel):
            return self.parallel(body, inputs[0], local, entry.line, scope, conditions)
        if isinstance(body, BlockCall):
            return self.block(self.spec.blocks[body.block], body, inputs[0], local, scope, rep,
                              conditions, entry.line, refs)
        return self.op(body, inputs, name, entry.line, scope, rep, conditions)

    def op(self, call: OpCall, inputs: tuple[str, ...], name: str, line: int, scope: _Scope,
           rep: int, conditions: Conditions) -> str:
        variables = {**scope.variables, "c_in": Channels(inputs[0])}
        kwargs = {key: self.value(spec_field, variables, scope) for key, spec_field in
                  call.fields.items()}
        if rep > 0 and "stride" in kwargs:  # the papers' n/s convention: stride on the first
            kwargs["stride"] = 1
        norm = self.word(call.norm, scope)
        if "bias" in SCHEMAS[call.kind].keys and "bias" not in kwargs:
            kwargs["bias"] = default_bias(norm)
        if call.scale is not None:
            scale = self.value(call.scale, variables, scope)
        else:  # a width read from other layers (c_in, channels(x)) is already alpha's
            scale = not (isinstance(out := call.fields.get("out"), Field)
                         and isinstance(out.raw, str) and reads_channels(out.raw))
        if kwargs.get("out") is not None and scale is not False:
            kwargs["out"] = Scaled(kwargs["out"], self.spec.width, scale)
            if call.scale is None:
                self.implicit_scale.add(name)
        current = self.add(Layer(name, SCHEMAS[call.kind].cls(**kwargs), inputs, line,
                                 scope.group, conditions))
        if norm is not None and norm != "none":
            current = self.add(Layer(f"{name}.bn", OPS["batchnorm"](), (current,),
                                     call.norm.line, scope.group, conditions))
        return self.activation(call.act, name, current, scope, conditions)

    def activation(self, act: Field | None, name: str, current: str, scope: _Scope,
                   conditions: Conditions) -> str:
        fn = self.word(act, scope)
        if act is None or fn == "none":
            return current
        return self.add(Layer(f"{name}.{fn}", OPS["act"](fn), (current,), act.line,
                              scope.group, conditions))

    def block(self, block: BlockDef, call: BlockCall, block_input: str, local: str,
              scope: _Scope, rep: int, conditions: Conditions, line: int,
              refs: Mapping[str, str]) -> str:
        name = scope.prefix + local
        caller = {**scope.variables, "c_in": Channels(block_input)}
        values: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for arg, default in block.args.items():
            later = rep > 0 and arg in block.repeat
            given = block.repeat[arg] if later else call.args.get(arg, default)
            assert given is not None, "the parser checks required block arguments"
            if given.hint is TEXT:
                texts[arg] = given.value if given.constant else scope.texts[given.raw]
            else:
                values[arg] = self.value(given, caller, scope)
        inner = _Scope(f"{name}.", {"input": block_input},
                       {**self.args, "alpha": ALPHA, **values, "c_in": Channels(block_input)},
                       scope.group or name, scope, texts=texts,
                       title=f"block instance '{name}' (block {block.name})")
        scope.inner[local] = inner
        for arg in block.layer_args:  # a default names a layer as the block sees it
            target = refs.get(arg) or inner.lookup(texts[arg])
            if target is None:
                raise self.fail(line, f"block '{block.name}': '{arg}' names no layer: the "
                                f"default '{texts[arg]}' is not a layer at the block's start",
                                f"pass `{arg}: LAYER` in this call")
            inner.names[arg] = target
        out = self.expand(block.layers, inner, block_input, conditions)
        if block.residual is None:
            return out
        inner.variables["c_out"] = Channels(out)
        return self.residual(block.residual, inner, block_input, out, name, conditions, line)

    def residual(self, residual: Residual, scope: _Scope, block_input: str, out: str,
                 name: str, conditions: Conditions, line: int) -> str:
        """The merge of a block instance's input (or shortcut) and output, located at the
        call (`line`): a mismatch is the call's arguments' doing."""
        if residual.when is not None:
            keep, conditions = self.decide(residual.when, scope.variables, out, conditions,
                                           scope)
            if not keep:
                return out
        shortcut = block_input
        if residual.shortcut:
            sub = scope.sub(f"{name}.shortcut.", block_input, "shortcut",
                            f"the shortcut of '{name}'")
            shortcut = self.expand(residual.shortcut, sub, block_input, conditions)
        current = self.add(Layer(f"{name}.{residual.merge}", OPS[residual.merge](),
                                 (shortcut, out), line, scope.group, conditions,
                                 residual_line=residual.line))
        return self.activation(residual.act, name, current, scope, conditions)

    def parallel(self, call: Parallel, branch_input: str, local: str, line: int,
                 scope: _Scope, conditions: Conditions) -> str:
        name = scope.prefix + local
        outs = []
        branches = scope.sub(f"{name}.", branch_input, local, f"parallel '{name}'")
        for j, branch in enumerate(call.branches, start=1):
            sub = branches.sub(f"{name}.{j}.", branch_input, str(j),
                               f"branch {j} of parallel '{name}'")
            outs.append(self.expand(branch, sub, branch_input, conditions))
        return self.add(Layer(name, OPS[call.merge](), tuple(outs), line, scope.group,
                              conditions))


def output_layers(layers: Sequence[Layer]) -> list[int]:
    """The indices of the layers that set the network's output channels: from the last layer
    back through the layers whose channels follow their inputs (and the layers a conditional
    one stands in for) to those that set their own (`out`, an input, an embedding...)."""
    index = {layer.name: i for i, layer in enumerate(layers)}
    stack, seen, found = [layers[-1].name], set(), []
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        layer = layers[index[name]]
        stack += [condition.bypass for condition in layer.conditions]
        op = layer.op
        if getattr(op, "out", None) is not None or op.channels_from == "own":
            found.append(index[name])
        else:
            stack += layer.inputs if op.channels_from == "all" else layer.inputs[:1]
    return sorted(found)


def reads_channels(text: str) -> bool:
    """Whether an expression reads a channel count: c_in, c_out or channels(NAME)."""
    return any(name in ("c_in", "c_out") or name.startswith(CHANNELS + "(")
               for name in names_in(text))


def default_bias(norm: str | None) -> bool:
    """A layer that does not say `bias` has one, as nn.Conv2d, nn.Linear and Keras' layers do,
    unless it carries `norm: batchnorm`: the batch norm's shift makes a bias redundant, and
    torchvision's and Keras' BN networks drop it (docs/spec-format.md, coming from PyTorch)."""
    return norm is None or norm == "none"


def _descend(scope: _Scope, name: str) -> tuple[_Scope, list[str]]:
    """Follows the dotted `name` from the scope that defines its first part through the
    instances it names: the last scope reached and the parts still to look up there (one
    part, a layer name, when every prefix is an instance)."""
    parts = name.split(".")
    while len(parts) > 1 and parts[0] in scope.inner:
        scope = scope.inner[parts[0]]
        parts = parts[1:]
    return scope, parts


def _base_name(entry: Entry) -> str:
    """Auto names: conv1, conv2, ...; a parallel entry is named after its merge (concat1)."""
    return entry.body.merge if isinstance(entry.body, Parallel) else entry.kind


def _path(entries: tuple[Entry, ...], names: list[str | None], start: int, goal: int) -> list[int]:
    """A dependency path from entry `start` back to entry `goal`, or [] if there is none
    (parent links, not copied paths: linear in the number of entries)."""
    index = {name: i for i, name in enumerate(names) if name is not None}
    parent: dict[int, int] = {start: start}
    stack = [start]
    while stack:
        i = stack.pop()
        if i == goal:
            path = [i]
            while path[-1] != start:
                path.append(parent[path[-1]])
            return path[::-1]
        entry = entries[i]
        heads = [ref.name.partition(".")[0] for ref in entry.inputs or ()]  # b.x: b's
        deps = ([i - 1] if i > 0 else []) if entry.inputs is None else \
            [index[head] for head in heads if head in index]
        for d in deps:
            if d not in parent:
                parent[d] = i
                stack.append(d)
    return []
