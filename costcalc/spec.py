"""The spec loader: YAML with line numbers -> a typed, validated Spec.

`parse_spec` reads the YAML (yamlnodes) once and turns it into the records below, checking the
whole document against the schema on the way and reporting every problem it finds, sorted by
line. Nothing after this stage reads YAML: `expand.build_graph` walks these records.
Values that may be expressions stay as `Field`s (text, type hint and line) to be evaluated at
expansion or, when they read channel counts or alpha, in the shape pass.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from . import limits
from .bundled import resolve
from .deployment import Density, parse_density
from .errors import CostcalcError, Problem, SpecError, capped, did_you_mean
from .expr import ExprError, Unknown, check_syntax
from .ops import OPS
from .schema import (
    ACTS,
    BLOCK_KEYS,
    COMMON_KEYS,
    INPUT_KEYS,
    MERGES,
    NORMS,
    PARALLEL_KEYS,
    PARAM_ROLES,
    RESIDUAL_KEYS,
    SCHEMAS,
    SUGAR_KEYS,
    SUGAR_KINDS,
    TOP_KEYS,
    VARIANT_KEYS,
    WIDTH_KEYS,
    Field,
    FieldError,
    Number,
    check_bounds,
    coerce,
    describe,
)
from .width import WidthRule
from .yamlnodes import Node, parse_yaml, plain

# ---------------------------------------------------------------------------------------------
# The spec model


@dataclass(frozen=True, slots=True)
class Ref:
    """A layer name in an entry's `inputs`."""

    name: str
    line: int


@dataclass(frozen=True, slots=True)
class OpCall:
    """A layer of a registered kind; `fields` are keyed by the op's dataclass field names, with
    the spec's `defaults` for the kind merged in."""

    kind: str
    fields: Mapping[str, Field]
    norm: Field | None = None
    act: Field | None = None
    scale: Field | None = None


@dataclass(frozen=True, slots=True)
class BlockCall:
    """A use of a block defined under `blocks:`, with the arguments it passes."""

    block: str
    args: Mapping[str, Field]


@dataclass(frozen=True, slots=True)
class Parallel:
    """Branches run on the same input, merged by `merge` (concat or add)."""

    branches: tuple[tuple[Entry, ...], ...]
    merge: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One element of a `layers:` list and the keys every entry may carry."""

    body: OpCall | BlockCall | Parallel
    name: str | None
    inputs: tuple[Ref, ...] | None
    n: Field | None
    when: Field | None
    line: int

    @property
    def kind(self) -> str:
        body = self.body
        if isinstance(body, OpCall):
            return body.kind
        return body.block if isinstance(body, BlockCall) else "parallel"


@dataclass(frozen=True, slots=True)
class Residual:
    """A block's shortcut: `shortcut` entries on the block input, merged with the block's
    output when `when` holds, then an optional activation."""

    when: Field | None
    shortcut: tuple[Entry, ...]
    merge: str
    act: Field | None
    line: int


@dataclass(frozen=True, slots=True)
class BlockDef:
    name: str
    args: Mapping[str, Field | None]  # default values; None = required; hint TEXT: a word
    repeat: Mapping[str, Field]  # argument values on repetitions after the first
    layers: tuple[Entry, ...]
    residual: Residual | None
    line: int
    layer_args: frozenset[str] = frozenset()  # text arguments its `inputs:` name: layers


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    width: float | None
    resolution: int | tuple[int, int] | None
    args: Mapping[str, Any]
    description: str
    density: tuple[Density, ...] = ()  # the variant's `density:` (level 1)


@dataclass(frozen=True, slots=True)
class Spec:
    file: str
    name: str
    source: str
    description: str
    channels: int
    size: tuple[int, int]
    width: WidthRule
    blocks: Mapping[str, BlockDef]
    layers: tuple[Entry, ...]
    args: Mapping[str, Any]
    variants: Mapping[str, Variant]
    paper_params: tuple[str, ...] | None
    density: tuple[Density, ...] = ()  # `density:` (level 2), docs/deploy.md


# ---------------------------------------------------------------------------------------------
# Loading


def load_spec(ref: str | Path) -> Spec:
    """Read and validate a spec file (a path, or the name of a bundled spec)."""
    if not isinstance(ref, str | Path):
        raise CostcalcError(f"a spec is a path or the name of a bundled spec, got "
                            f"{type(ref).__name__}")
    path = resolve(ref)
    file = str(path) if Path(ref).is_file() else path.name
    bound = limits.current().max_file_bytes
    try:
        with path.open("rb") as handle:
            data = handle.read(bound + 1)
        if len(data) > bound:
            raise CostcalcError(f"{file}: the file is larger than {bound:,} bytes (limit "
                                "max_file_bytes)", limits.fix("max_file_bytes"))
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostcalcError(f"{ref}: cannot read: {exc}") from None
    return parse_spec(text, file)


def parse_spec(text: str, file: str = "<spec>") -> Spec:
    if not isinstance(text, str) or not isinstance(file, str):
        raise CostcalcError("parse_spec takes the spec's text and a file name (str), got "
                            f"{type(text).__name__} and {type(file).__name__}")
    return _Parser(file).spec(parse_yaml(text, file))


# ---------------------------------------------------------------------------------------------
# The parser: YAML nodes -> the records above, collecting every problem


# Names every expression may read; an argument of the same name would silently hide one.
BUILTIN_NAMES = frozenset({"c_in", "c_out", "alpha", "true", "false", "True", "False"})


class _Expression(Unknown):
    """Stands for an expression's value while a spec is parsed (it is evaluated later)."""


class _TextRef(_Expression):
    """A field that names a text argument of the enclosing block (`act: act`): its value is
    the argument's, known when the block is called."""


# The type hint of a text block argument (a word such as `hswish`, never an expression).
TEXT = str
# What a text argument stands for when a block's `inputs:` name it: a layer, given by the
# call as the caller sees it (`indices: down1.pool`), or by the default as the block does.
LAYER = "layer"


def literal_choices(hint: Any) -> tuple[Any, ...]:
    """The words a field's type accepts (its Literal choices, also inside a union)."""
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    return tuple(c for option in typing.get_args(hint) for c in literal_choices(option))


def _syntax_only(text: str) -> _Expression:
    """At parse time an expression is checked for its form only."""
    try:
        check_syntax(text)
    except ExprError as exc:
        raise FieldError(exc.what, exc.fix) from None
    return _Expression()


def _is_expression(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(_is_expression(v) for v in value)
    return isinstance(value, _Expression)


_EMPTY = Node({}, 0)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")  # a word or a layer name

_REQUIRED_FIX = {
    "version": "add `version: 1` as the spec's first line",
    "name": "add the network's display name, e.g. `name: LeNet-5`",
    "input": "add the input, e.g. `input: {channels: 3, size: 224}`",
    "layers": "add the list of layers, e.g. `layers: [conv: {out: 32, kernel: 3}]`",
}

# Names from other tools that a spec spells otherwise: kind -> the fix.
KIND_HINTS = {
    "linear": "use `fc` (nn.Linear, Keras Dense)",
    "dense": "use `fc` (nn.Linear, Keras Dense)",
    "conv2d": "use `conv`",
    "convtranspose2d": "use `deconv`",
    "maxpool": "use `pool: {op: max, kernel: ...}`",
    "maxpool2d": "use `pool: {op: max, kernel: ...}`",
    "avgpool": "use `pool: {op: avg, kernel: ...}`",
    "avgpool2d": "use `pool: {op: avg, kernel: ...}`",
    "globalaveragepooling2d": "use `pool: {op: avg, global: true}`",
    "adaptiveavgpool2d": "use `adaptive_pool: {size: ...}`",
    "batchnorm2d": "use `batchnorm`, or `norm: batchnorm` on the conv before it",
    "bn": "use `batchnorm`, or `norm: batchnorm` on the conv before it",
    "cat": "use `concat`",
    "identity": "leave it out: an empty `parallel` branch is the identity",
}


class _Parser:
    """Reads the located YAML once. Every method records problems and returns what it could
    read, so that one run reports everything wrong with a file."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.block_nodes: dict[str, Node] = {}
        self.defaults: dict[str, dict[str, Field]] = {}
        self.verdicts: dict[tuple[Any, ...], tuple[bool, Any, FieldError | None]] = {}
        self.block = ""  # the block being read
        self.text_args: frozenset[str] = frozenset()  # of the block being read
        self.text_uses: dict[str, dict[str, list[Any]]] = {}  # block -> text arg -> hints
        self.text_calls: list[tuple[str, str, Node]] = []  # (block, arg, value) to check
        self.text_passes: list[tuple[str, str, str, str]] = []  # (block, its text arg,
        # the block it calls, that block's argument the first is passed to)

    def problem(self, line: int, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, line, what, fix))

    def mapping(self, node: Node, what: str) -> dict[str, Node]:
        if isinstance(node.value, dict):
            return node.value
        self.problem(node.line, f"{what} must be a mapping, got {describe(node.value)}")
        return {}

    def keys(self, entries: Mapping[str, Node], allowed: set[str] | Mapping[str, Any],
             what: str) -> None:
        for key, node in entries.items():
            if key not in allowed:
                self.problem(node.line, f"{what}: unknown field '{key}'",
                             did_you_mean(key, allowed))

    def checked(self, key: str, node: Node, hint: Any, what: str) -> tuple[bool, Any]:
        """(True, value) when the node fits `hint`, an expression standing as _Expression;
        else (False, None) and a problem. A scalar's verdict is kept: large specs repeat the
        same few values thousands of times."""
        raw = node.value
        if isinstance(raw, str) and raw in self.text_args and literal_choices(hint):
            self.text_uses.setdefault(self.block, {}).setdefault(raw, []).append(hint)
            return True, _TextRef()
        if isinstance(raw, str) and (size := re.fullmatch(r"\s*(\d+)\s*[xX*×]\s*(\d+)\s*", raw)) \
                and typing.get_origin(hint) in (typing.Union, type(int | str)) \
                and tuple[int, int] in typing.get_args(hint):
            h, w = size.groups()
            self.problem(node.line, f"{what}: {raw!r} is not a size",
                         f"use {h} or [{h}, {w}]" if h == w else f"use [{h}, {w}]")
            return False, None
        memo = (key, hint, type(raw), raw, raw in self.text_args) \
            if isinstance(raw, int | float | str) or raw is None else None
        verdict = self.verdicts.get(memo) if memo is not None else None
        if verdict is None:
            try:
                value = coerce(hint, plain(node), _syntax_only)
                check_bounds(key, hint, value)
                verdict = (True, value, None)
            except FieldError as exc:
                verdict = (False, None, exc)
            if memo is not None:
                self.verdicts[memo] = verdict
        ok, value, error = verdict
        if error is not None:
            self.problem(node.line, f"{what}: {error.what}", error.fix)
            return False, None
        return True, value

    def field(self, key: str, node: Node, hint: Any, what: str) -> Field | None:
        """A value that may be an expression, as a Field; None when it cannot be right."""
        ok, value = self.checked(key, node, hint, what)
        if not ok:
            return None
        constant = not _is_expression(value)
        return Field(key, plain(node), hint, node.line, what, value if constant else None,
                     constant)

    def constant(self, key: str, node: Node, hint: Any, what: str, default: Any = None) -> Any:
        """A value that must be written as it is, not as an expression."""
        ok, value = self.checked(key, node, hint, what)
        if ok and _is_expression(value):
            self.problem(node.line, f"{what} must be a number, not an expression")
            return default
        return value if ok else default

    # -- the document

    def spec(self, root: Node) -> Spec:
        top = self.mapping(root, "the spec")
        self.keys(top, TOP_KEYS, "spec")
        for key in ("version", "name", "input", "layers"):
            if key not in top and isinstance(root.value, dict):
                self.problem(1, f"missing required field '{key}'", _REQUIRED_FIX[key])
        if "version" in top and (top["version"].value != 1
                                 or isinstance(top["version"].value, bool)):
            self.problem(top["version"].line, f"unsupported version {top['version'].value!r}",
                         "write `version: 1`")
        channels, size = self._input(top.get("input"))
        args = self._numbers(top.get("args"), "args")
        self.defaults = self._defaults(top.get("defaults"))
        self.block_nodes = self.mapping(top["blocks"], "blocks") if "blocks" in top else {}
        blocks = {name: self._block(name, body) for name, body in self.block_nodes.items()}
        self._check_recursion(blocks)
        blocks = self._pass_layer_args(blocks)
        layers = self.entries(top.get("layers", Node([], 1)))
        self.check_text_calls()
        spec = Spec(self.file, self._text(top.get("name"), "name"),
                    self._text(top.get("source"), "source"),
                    self._text(top.get("description"), "description"), channels, size,
                    self._width(top.get("width")),
                    {name: b for name, b in blocks.items() if b is not None}, layers, args,
                    self._variants(top.get("variants"), args),
                    self._paper_params(top.get("paper_params")),
                    self._density(top.get("density"), "density", 2))
        if self.problems:
            raise SpecError(self.problems)
        return spec

    def _text(self, node: Node | None, what: str) -> str:
        if node is None:
            return ""
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            self.problem(node.line, f"{what}: expected text, got {describe(node.value)}")
            return ""
        return " ".join(str(node.value).split())

    def _input(self, node: Node | None) -> tuple[int, tuple[int, int]]:
        if node is None:
            return 3, (224, 224)
        entries = self.mapping(node, "input")
        self.keys(entries, INPUT_KEYS, "input")
        channels = self.constant("channels", entries["channels"], int, "input: 'channels'", 3) \
            if "channels" in entries else 3
        if "size" not in entries:
            self.problem(node.line, "input: missing required field 'size'",
                         "e.g. `size: 224` or `size: [224, 224]`")
            return channels, (224, 224)
        size = self.constant("size", entries["size"], int | tuple[int, int], "input: 'size'",
                             224)
        return channels, (size, size) if isinstance(size, int) else size

    def _width(self, node: Node | None) -> WidthRule:
        if node is None:
            return WidthRule()
        entries = self.mapping(node, "width")
        self.keys(entries, WIDTH_KEYS, "width")
        values = {k: self.constant(k, v, WIDTH_KEYS[k], f"width: '{k}'")
                  for k, v in entries.items() if k in WIDTH_KEYS}
        for key in ("divisor", "min"):  # a zero would round channel counts to zero
            if isinstance(values.get(key), int) and values[key] < 1:
                self.problem(entries[key].line, f"width: '{key}' must be at least 1, got "
                             f"{values[key]}")
                values[key] = None
        multiplier = values.get("multiplier")
        if multiplier is not None and not 0 < multiplier <= 16:
            self.problem(entries["multiplier"].line, "width: 'multiplier' must be in (0, 16], "
                         f"got {multiplier}")
            values["multiplier"] = None
        return WidthRule(**{k: v for k, v in values.items() if v is not None})

    def _numbers(self, node: Node | None, what: str) -> dict[str, Any]:
        """Spec and variant `args`: numbers or true/false, never expressions."""
        out: dict[str, Any] = {}
        for key, value in (self.mapping(node, what) if node is not None else {}).items():
            if key in BUILTIN_NAMES:
                self.problem(value.line, f"{what}: argument '{key}' would hide the built-in "
                             f"name '{key}'", "choose another name")
            elif isinstance(value.value, bool):
                out[key] = value.value
            elif isinstance(value.value, int | float):
                try:
                    out[key] = coerce(Number, value.value, _syntax_only)
                except FieldError as exc:
                    self.problem(value.line, f"{what}: '{key}': {exc.what}", exc.fix)
            else:
                self.problem(value.line, f"{what}: '{key}' must be a number or true/false, got "
                             f"{describe(value.value)}")
        return out

    def _defaults(self, node: Node | None) -> dict[str, dict[str, Field]]:
        out = {}
        for kind, body in (self.mapping(node, "defaults") if node is not None else {}).items():
            if kind not in SCHEMAS:
                self.problem(body.line, f"defaults: unknown layer kind '{kind}'",
                             did_you_mean(kind, SCHEMAS))
                continue
            fields = self.mapping(body, f"defaults: {kind}")
            out[kind] = self._check_op_keys(kind, fields, in_defaults=True)
        return out

    def _variants(self, node: Node | None, args: Mapping[str, Any]) -> dict[str, Variant]:
        out = {}
        for name, body in (self.mapping(node, "variants") if node is not None else {}).items():
            what = f"variant '{name}'"
            entries = self.mapping(body, what)
            self.keys(entries, VARIANT_KEYS, what)
            width = self.constant("width", entries["width"], float, f"{what}: 'width'") \
                if "width" in entries else None
            if width is not None and not 0 < width <= 16:
                self.problem(entries["width"].line, f"{what}: 'width' must be in (0, 16], got "
                             f"{width}")
            res = self.constant("resolution", entries["resolution"], int | tuple[int, int],
                                f"{what}: 'resolution'") if "resolution" in entries else None
            vargs = self._numbers(entries.get("args"), f"{what}: args")
            for key in vargs:
                if key not in args:
                    self.problem(entries["args"].value[key].line,
                                 f"{what}: unknown argument '{key}'",
                                 did_you_mean(key, args) if args else
                                 "declare it under the top-level `args:`")
            out[name] = Variant(name, width, res, vargs,
                                self._text(entries.get("description"), "description"),
                                self._density(entries.get("density"), f"{what}: density", 1))
        return out

    def _density(self, node: Node | None, what: str, level: int) -> tuple[Density, ...]:
        """`density:` (docs/deploy.md): layer or block name ("*": every layer) -> the fraction
        of weights kept, read as `--density NAME=D` reads it; the names are checked against
        the graph where the densities are used (deploy.densities)."""
        out = []
        for name, value in (self.mapping(node, what) if node is not None else {}).items():
            try:
                fraction = parse_density(plain(value))
            except CostcalcError as exc:
                self.problem(value.line, f"{what}: '{name}': {exc.what}", exc.fix)
                continue
            out.append(Density("" if name == "*" else str(name), fraction, level, self.file,
                               value.line))
        return tuple(out)

    def _paper_params(self, node: Node | None) -> tuple[str, ...] | None:
        if node is None:
            return None
        if not isinstance(node.value, list) or not node.value:
            self.problem(node.line, "paper_params must be a list such as [weights, biases]")
            return None
        roles = []
        for item in node.value:
            if item.value not in PARAM_ROLES:
                self.problem(item.line, f"paper_params: unknown role {item.value!r}",
                             "use weights, biases and bn")
            else:
                roles.append(item.value)
        return tuple(roles)

    # -- blocks

    def _block(self, name: str, body: Node) -> BlockDef | None:
        what = f"block '{name}'"
        if name in OPS or name == "parallel":
            self.problem(body.line, f"block name '{name}' is already a layer kind",
                         "choose another name")
            return None
        entries = self.mapping(body, what)
        self.keys(entries, BLOCK_KEYS, what)
        if "layers" not in entries:
            self.problem(body.line, f"{what}: missing required field 'layers'")
        args: dict[str, Field | None] = {}
        for key, value in (self.mapping(entries["args"], f"{what}: args")
                           if "args" in entries else {}).items():
            if key in BUILTIN_NAMES:
                self.problem(value.line, f"{what}: argument '{key}' would hide the built-in "
                             f"name '{key}'", "choose another name")
            elif value.value is None:
                args[key] = None
            elif isinstance(value.value, int | float) and not isinstance(value.value, bool):
                args[key] = self.field(key, value, Number, f"{what}: '{key}'")
            elif isinstance(value.value, str) and _WORD.fullmatch(value.value):
                args[key] = Field(key, value.value, TEXT, value.line, f"{what}: '{key}'",
                                  value.value, True)
            else:
                self.problem(value.line, f"{what}: args: '{key}' must be a number, a word such "
                             f"as `relu` (a text argument), or null (required), got "
                             f"{describe(value.value)}")
                if isinstance(value.value, str):  # still a text argument: no second error
                    args[key] = Field(key, value.value, TEXT, value.line, f"{what}: '{key}'",
                                      value.value, True)
        repeat = {}
        for key, value in (self.mapping(entries["repeat"], f"{what}: repeat")
                           if "repeat" in entries else {}).items():
            if key not in args:
                self.problem(value.line, f"{what}: repeat sets unknown argument '{key}'",
                             did_you_mean(key, args))
            elif (checked := self.field(key, value, Number, f"{what}: '{key}'")) is not None:
                repeat[key] = checked
        self.block = name
        self.text_args = frozenset(k for k, v in args.items() if v is not None
                                   and v.hint is TEXT)
        try:
            residual = self._residual(entries["residual"]) if "residual" in entries else None
            layers = self.entries(entries.get("layers", Node([], 0)))
        finally:
            self.block, self.text_args = "", frozenset()
        layer_args = frozenset(arg for arg, hints in self.text_uses.get(name, {}).items()
                               if LAYER in hints)
        return BlockDef(name, args, repeat, layers, residual, body.line, layer_args)

    def _residual(self, node: Node) -> Residual:
        if not isinstance(node.value, dict):  # the short form: a condition
            return Residual(self.field("when", node, bool, "residual"), (), "add", None,
                            node.line)
        entries = node.value
        self.keys(entries, RESIDUAL_KEYS, "residual")
        merge = self.constant("merge", entries["merge"], Literal["concat", "add"],
                              "residual: 'merge'", "add") if "merge" in entries else "add"
        return Residual(
            self.field("when", entries["when"], bool, "residual: 'when'")
            if "when" in entries else None,
            self.entries(entries["shortcut"]) if "shortcut" in entries else (),
            merge,
            self.field("act", entries["act"], Literal[ACTS], "residual: 'act'")
            if "act" in entries else None,
            node.line)

    def _pass_layer_args(self, blocks: dict[str, BlockDef | None]) -> dict[str, BlockDef | None]:
        """A text argument a block passes on to another block's layer argument names a layer
        too (to be looked up where the word is written)."""
        layer_args = {name: set(b.layer_args) for name, b in blocks.items() if b is not None}
        changed = True
        while changed:
            changed = False
            for block, arg, callee, callee_arg in self.text_passes:
                if callee_arg in layer_args.get(callee, ()) and \
                        arg not in layer_args.get(block, {arg}):
                    layer_args[block].add(arg)
                    changed = True
        return {name: b if b is None else replace(b, layer_args=frozenset(layer_args[name]))
                for name, b in blocks.items()}

    def _check_recursion(self, blocks: Mapping[str, BlockDef | None]) -> None:
        """A block may not use itself, directly or through other blocks."""
        uses = {name: _uses(block) for name, block in blocks.items() if block is not None}
        reported: set[str] = set()
        for start in uses:
            path = _cycle(start, uses)
            if path and path[0] not in reported:
                reported.update(path)
                line = next(line for used, line in uses[path[-1]] if used == path[0])
                cycle = capped([*path, path[0]], " -> ")
                self.problem(line, f"block '{path[0]}' uses itself"
                             + (f" through {cycle}" if len(path) > 1 else ""),
                             "blocks cannot be recursive")

    # -- entries

    def entries(self, node: Node) -> tuple[Entry, ...]:
        if not isinstance(node.value, list):
            self.problem(node.line, f"expected a list of layers, got {describe(node.value)}")
            return ()
        out = []
        for item in node.value:
            entry = self._entry(item)
            if entry is not None:
                out.append(entry)
        return tuple(out)

    def _entry(self, item: Node) -> Entry | None:
        if not isinstance(item.value, dict) or len(item.value) != 1:
            self.problem(item.line, "a layer entry must be one `kind: {fields}` mapping",
                         "e.g. `- conv: {out: 32, kernel: 3, stride: 2}`")
            return None
        (kind, body), = item.value.items()
        known = set(SCHEMAS) | set(self.block_nodes) | {"parallel"}
        if kind not in known:
            self.problem(item.line, f"unknown layer kind or block '{kind}'",
                         _kind_hint(kind, known))
            return None
        if body.value is not None and not isinstance(body.value, dict):
            self.problem(body.line, f"{kind}: fields must be a mapping, got "
                         f"{describe(body.value)}")
            return None
        fields: dict[str, Node] = body.value or {}
        if kind in SCHEMAS:
            call: OpCall | BlockCall | Parallel | None = self._op(kind, fields, item.line)
        elif kind == "parallel":
            call = self._parallel(fields, item.line)
        else:
            call = self._block_call(kind, fields, item.line)
        name = self._name(fields["name"], kind) if "name" in fields else None
        inputs = self._inputs(fields["inputs"], kind) if "inputs" in fields else None
        if inputs is not None and len(inputs) != 1 and not isinstance(call, OpCall):
            self.problem(fields["inputs"].line, f"{kind} takes one input, got {len(inputs)}",
                         "blocks and parallel entries start from one layer")
        n = self.field("n", fields["n"], int, f"{kind}: 'n'") if "n" in fields else None
        when = self.field("when", fields["when"], bool, f"{kind}: 'when'") \
            if "when" in fields else None
        return None if call is None else Entry(call, name, inputs, n, when, item.line)

    def _name(self, node: Node, kind: str) -> str | None:
        if not isinstance(node.value, str) or not node.value or "." in node.value:
            self.problem(node.line, f"{kind}: 'name' must be text without dots, got "
                         f"{describe(node.value)}")
            return None
        return node.value

    def _inputs(self, node: Node, kind: str) -> tuple[Ref, ...] | None:
        if not isinstance(node.value, list) or not all(isinstance(i.value, str)
                                                       for i in node.value):
            self.problem(node.line, f"{kind}: 'inputs' must be a list of layer names")
            return None
        if not node.value:
            self.problem(node.line, "'inputs' is empty", "name at least one input layer")
            return None
        for item in node.value:  # a text argument of the block being read names a layer
            if item.value in self.text_args:
                self.text_uses.setdefault(self.block, {}).setdefault(item.value, []).append(
                    LAYER)
        return tuple(Ref(i.value, i.line) for i in node.value)

    def _check_op_keys(self, kind: str, fields: Mapping[str, Node],
                       in_defaults: bool = False) -> dict[str, Field]:
        """The op fields (and sugar) of a layer or of `defaults: KIND`, checked."""
        schema = SCHEMAS[kind]
        allowed = set(schema.keys) | (set() if in_defaults else COMMON_KEYS)
        if kind in SUGAR_KINDS:
            allowed |= SUGAR_KEYS
        elif "out" in schema.keys:
            allowed.add("scale")
        self.keys(fields, allowed, kind)
        sugar = {"norm": Literal[NORMS], "act": Literal[ACTS], "scale": bool}
        out = {}
        for key, node in fields.items():
            hint = schema.hints[schema.keys[key]] if key in schema.keys else sugar.get(key)
            if hint is not None and key in allowed:
                checked = self.field(key, node, hint, f"{kind}: '{key}'")
                if checked is not None:
                    out[schema.keys.get(key, key)] = checked
        return out

    def _op(self, kind: str, fields: Mapping[str, Node], line: int) -> OpCall | None:
        before = len(self.problems)
        defaults = self.defaults.get(kind, {})  # checked once, where they are written
        checked = {**defaults, **self._check_op_keys(kind, fields)}
        given = {f.key for f in defaults.values()} | set(fields)
        for key in sorted(SCHEMAS[kind].required - given):
            self.problem(line, f"{kind}: missing required field '{key}'",
                         f"add `{key}: ...` to this layer or to `defaults: {kind}`")
        if len(self.problems) > before:
            return None
        sugar = {key: checked.pop(key, None) for key in ("norm", "act", "scale")}
        return OpCall(kind, checked, **sugar)

    def _parallel(self, fields: Mapping[str, Node], line: int) -> Parallel | None:
        self.keys(fields, PARALLEL_KEYS | COMMON_KEYS, "parallel")
        merge = self.constant("merge", fields.get("merge", Node("concat", line)),
                              Literal[MERGES], "parallel: 'merge'", "concat")
        branches = fields.get("branches")
        if branches is None or not isinstance(branches.value, list):
            self.problem(line, "parallel: 'branches' must be a list of layer lists")
            return None
        if not branches.value:
            self.problem(branches.line, "parallel: 'branches' is empty",
                         "give at least one branch, each a list of layers")
            return None
        # An empty branch is the identity (the branch input itself).
        return Parallel(tuple(self.entries(branch) for branch in branches.value), merge)

    def _block_call(self, kind: str, fields: Mapping[str, Node], line: int) -> BlockCall | None:
        what = f"block '{kind}'"
        body = self.block_nodes[kind]
        arg_nodes = body.value.get("args", _EMPTY) if isinstance(body.value, dict) else _EMPTY
        declared = arg_nodes.value if isinstance(arg_nodes.value, dict) else {}
        self.keys(fields, set(declared) | COMMON_KEYS, what)
        missing = [arg for arg, default in declared.items()
                   if default.value is None and arg not in fields]
        for arg in missing:
            example = ", ".join(f"{a}: ..." for a in missing)
            self.problem(line, f"{what}: missing required argument '{arg}'",
                         f"pass it in this call, e.g. `{kind}: {{{example}}}` (the block "
                         f"declares `{arg}: null`, no default)")
        args = {}
        for key, value in fields.items():
            if key not in declared:
                continue
            if isinstance(declared[key].value, str):  # a text argument
                if not isinstance(value.value, str) or not _DOTTED.fullmatch(value.value):
                    self.problem(value.line, f"{what}: '{key}' is a text argument (default "
                                 f"{declared[key].value}), got {describe(value.value)}",
                                 f"pass a word, e.g. `{key}: {declared[key].value}`")
                    continue
                if value.value not in self.text_args:  # else: the enclosing block's argument
                    self.text_calls.append((kind, key, value))
                else:
                    self.text_passes.append((self.block, value.value, kind, key))
                args[key] = Field(key, value.value, TEXT, value.line, f"{what}: '{key}'",
                                  value.value, value.value not in self.text_args)
            elif (checked := self.field(key, value, Number, f"{what}: '{key}'")) is not None:
                args[key] = checked
        return BlockCall(kind, args)

    def check_text_calls(self) -> None:
        """Each word passed to a text argument fits every field the block uses it in."""
        for block, arg, value in self.text_calls:
            for hint in self.text_uses.get(block, {}).get(arg, []):
                if hint is LAYER:  # looked up when the block is expanded
                    continue
                try:
                    coerce(hint, value.value, _syntax_only)
                except FieldError as exc:
                    self.problem(value.line, f"block '{block}': '{arg}': {exc.what}", exc.fix)
                    break


def _kind_hint(kind: str, known: set[str]) -> str:
    """The fix for an unknown kind: another tool's name for one of ours, an activation
    written as a layer, else the closest name."""
    key = kind.lower().replace("_", "").replace(".", "")
    if key in KIND_HINTS:
        return KIND_HINTS[key]
    if kind.lower() in ACTS[:-1]:
        return (f"an activation is `act: {{fn: {kind.lower()}}}`, or `act: {kind.lower()}` on "
                "the conv or fc before it")
    return did_you_mean(kind, known)


def _uses(block: BlockDef) -> list[tuple[str, int]]:
    """The blocks a block's entries call, with the line of each call."""
    found: list[tuple[str, int]] = []

    def walk(entries: tuple[Entry, ...]) -> None:
        for entry in entries:
            if isinstance(entry.body, BlockCall):
                found.append((entry.body.block, entry.line))
            elif isinstance(entry.body, Parallel):
                for branch in entry.body.branches:
                    walk(branch)

    walk(block.layers)
    if block.residual is not None:
        walk(block.residual.shortcut)
    return found


def _cycle(start: str, uses: Mapping[str, list[tuple[str, int]]]) -> list[str]:
    """A path of block uses from `start` back to itself ([] if there is none)."""
    stack: list[list[str]] = [[start]]
    seen: set[str] = set()
    while stack:
        path = stack.pop()
        for used, _ in uses.get(path[-1], []):
            if used == start:
                return path
            if used not in seen:
                seen.add(used)
                stack.append([*path, used])
    return []
