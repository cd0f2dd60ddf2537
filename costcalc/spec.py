"""The spec loader: YAML with line numbers → validated Spec → expanded Graph.

Loading happens in two steps. `load_spec` reads the YAML (safe semantics, duplicate keys
rejected, every node keeps its line) and checks the whole document against the schema, reporting
every problem it finds sorted by line. `build_graph` then expands blocks, repeats, branches,
defaults and the width multiplier into a flat list of layers, evaluating expressions as it goes;
it needs each layer's input channels (`c_in`), so it infers shapes layer by layer and stops at the
first problem.
"""

from __future__ import annotations

import dataclasses
import difflib
import typing
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from . import ops
from .errors import CostcalcError, Problem, SpecError
from .expr import ExprError, evaluate, make_divisible
from .graph import Graph, Layer
from .ops import OPS, Input, ParamCounts, Shape
from .shapes import infer_layer

# ---------------------------------------------------------------------------------------------
# YAML with line numbers


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value and the 1-based line it starts on. Mappings hold dict[str, Node]."""

    value: Any
    line: int


_MAX_NODES = 200_000  # aliases can make a tiny file expand enormously ("billion laughs")


def parse_yaml(text: str, file: str) -> Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        what = f"YAML syntax error: {exc.problem or exc.context}"
        raise SpecError(Problem(file, line, what, "check indentation, colons and brackets")) \
            from None
    except yaml.YAMLError as exc:
        raise SpecError(Problem(file, 0, f"YAML error: {exc}")) from None
    if root is None:
        raise SpecError(Problem(file, 1, "the spec is empty",
                                "start with `version: 1`, `name:`, `input:` and `layers:`"))
    problems: list[Problem] = []
    budget = [_MAX_NODES]
    node = _convert(root, file, problems, budget)
    if problems:
        raise SpecError(problems)
    return node


def _convert(node: yaml.Node, file: str, problems: list[Problem], budget: list[int]) -> Node:
    budget[0] -= 1
    if budget[0] < 0:
        raise SpecError(Problem(file, node.start_mark.line + 1,
                                f"the document has more than {_MAX_NODES} nodes",
                                "avoid deeply nested YAML aliases"))
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = yaml.SafeLoader.construct_scalar(yaml.SafeLoader(""), key_node) \
                if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        "mapping keys must be plain names"))
                continue
            if key in out:
                problems.append(Problem(file, key_node.start_mark.line + 1,
                                        f"duplicate key '{key}' (first on line {out[key].line})",
                                        "remove one of them"))
                continue
            value = _convert(value_node, file, problems, budget)
            # A mapping entry is located at its key, where a reader looks for it.
            out[key] = Node(value.value, key_node.start_mark.line + 1)
        return Node(out, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(item, file, problems, budget) for item in node.value], line)
    loader = yaml.SafeLoader("")
    return Node(loader.construct_object(node), line)


def plain(node: Node) -> Any:
    """The Python value of a node, lines dropped."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


# ---------------------------------------------------------------------------------------------
# Field types: one checker/converter driven by the op dataclasses' annotations


class FieldError(Exception):
    def __init__(self, what: str, fix: str = ""):
        self.what, self.fix = what, fix


class _Deferred:
    """Stands for an expression's value while only the schema is checked."""


DEFERRED = _Deferred()
Evaluate = Callable[[str], Any]

_YAML_BOOL_HINT = "YAML reads yes/no/on/off/true/false as booleans"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} ({_YAML_BOOL_HINT})"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def _as_int(value: Any, evaluate_expr: Evaluate) -> Any:
    if isinstance(value, str):
        text, value = value, evaluate_expr(value)
        if value is DEFERRED:
            return value
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise FieldError(f"'{text}' gives {value!r}, not an integer",
                             "use // or round() to get a whole number")
    elif isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"expected an integer, got {_describe(value)}")
    if value < 0:
        raise FieldError(f"expected a non-negative integer, got {value}")
    return value


def _as_float(value: Any, evaluate_expr: Evaluate) -> Any:
    if isinstance(value, str):
        value = evaluate_expr(value)  # also reads YAML's string '1e-3' as the number 0.001
    if value is DEFERRED:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(f"expected a number, got {_describe(value)}")
    return float(value)


def _as_bool(value: Any, evaluate_expr: Evaluate) -> Any:
    if isinstance(value, str):
        try:
            value = evaluate_expr(value)
        except FieldError:
            raise FieldError(f"expected true or false (or a condition), got str {value!r}") \
                from None
    if value is DEFERRED or isinstance(value, bool):
        return value
    fix = "write a condition, e.g. `x == 1`" if isinstance(value, int | float) else ""
    raise FieldError(f"expected true or false, got {_describe(value)}", fix)


def coerce(hint: Any, value: Any, evaluate_expr: Evaluate) -> Any:
    """Check `value` against a type hint and convert it; strings in number fields are
    expressions, handed to `evaluate_expr`."""
    origin = typing.get_origin(hint)
    if hint is int:
        return _as_int(value, evaluate_expr)
    if hint is float:
        return _as_float(value, evaluate_expr)
    if hint is bool:
        return _as_bool(value, evaluate_expr)
    if origin is Literal:
        choices = typing.get_args(hint)
        if value in choices and not isinstance(value, bool):
            return value
        close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
        raise FieldError(f"expected one of {', '.join(map(str, choices))}; got "
                         f"{_describe(value)}", f"did you mean '{close[0]}'?" if close else "")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, list):
            raise FieldError(f"expected a list, got {_describe(value)}")
        if args[-1] is not Ellipsis and len(value) != len(args):
            raise FieldError(f"expected a list of {len(args)} values, got {len(value)}")
        if args[-1] is Ellipsis and not value:
            raise FieldError("expected a non-empty list")
        return tuple(coerce(args[0], item, evaluate_expr) for item in value)
    if origin in (typing.Union, _UNION_TYPE):
        return _coerce_union(typing.get_args(hint), value, evaluate_expr)
    raise TypeError(f"no converter for {hint!r}")  # a bug in an op's annotations


_UNION_TYPE = type(int | str)


def _coerce_union(options: tuple[Any, ...], value: Any, evaluate_expr: Evaluate) -> Any:
    if value is None:
        if type(None) in options:
            return None
        raise FieldError("a value is required here, got nothing (null)")
    literals = [o for o in options if typing.get_origin(o) is Literal]
    words = [c for lit in literals for c in typing.get_args(lit)]
    if isinstance(value, str) and value in words:
        return value
    if isinstance(value, list):
        for option in options:
            if typing.get_origin(option) is tuple:
                return coerce(option, value, evaluate_expr)
        raise FieldError(f"expected a single value, got {_describe(value)}")
    scalar = [o for o in options if o in (int, float, bool)]
    if scalar:
        try:
            return coerce(scalar[0], value, evaluate_expr)
        except FieldError as exc:
            if words and isinstance(value, str):
                exc.fix = exc.fix or f"or one of: {', '.join(words)}"
            raise
    return coerce(literals[0], value, evaluate_expr)


# Fields that must be at least 1 wherever they appear (an op's own rules check the rest).
POSITIVE_FIELDS = {"out", "kernel", "stride", "dilation", "groups", "parts", "size", "kernels",
                   "channels", "height", "width"}


def _check_positive(what: str, value: Any) -> None:
    """`what` is a message prefix such as "conv: 'out'"; its quoted part names the field."""
    name = what.rsplit("'", 2)[-2] if what.count("'") >= 2 else what
    items = value if isinstance(value, tuple) else (value,)
    if name in POSITIVE_FIELDS and any(isinstance(v, int) and v < 1 for v in items):
        raise FieldError(f"'{name}' must be at least 1, got {value}")


@dataclass(frozen=True, slots=True)
class OpSchema:
    """An op's YAML fields (`global` maps to the dataclass field `global_`)."""

    cls: type
    hints: Mapping[str, Any]
    keys: Mapping[str, str]  # YAML key -> dataclass field
    required: frozenset[str]

    @staticmethod
    def of(cls: type) -> OpSchema:
        hints = typing.get_type_hints(cls, vars(ops))
        keys, required = {}, set()
        for f in dataclasses.fields(cls):
            key = f.name.rstrip("_")
            keys[key] = f.name
            if f.default is MISSING and f.default_factory is MISSING:
                required.add(key)
        return OpSchema(cls, hints, keys, frozenset(required))


SCHEMAS = {kind: OpSchema.of(cls) for kind, cls in OPS.items() if kind != "input"}

# Keys every layer entry may carry, and the sugar a conv/fc/mdconv may carry.
COMMON_KEYS = {"name", "inputs", "n", "when"}
SUGAR_KEYS = {"norm", "act", "scale"}
SUGAR_KINDS = {"conv", "fc", "mdconv"}
NORMS = ("batchnorm", "none")
ACTS = typing.get_args(ops.Activation) + ("none",)
MERGES = ("concat", "add")
ROUNDING = ("truncate", "divisor", "nearest")
PARAM_ROLES = tuple(ParamCounts.__dataclass_fields__)[:3]  # weights, biases, bn

TOP_KEYS = {"version", "name", "source", "description", "input", "width", "defaults", "blocks",
            "layers", "args", "variants", "paper_params"}
BLOCK_KEYS = {"args", "repeat", "layers", "residual", "description"}
RESIDUAL_KEYS = {"when", "shortcut", "merge", "act"}
VARIANT_KEYS = {"width", "resolution", "args", "description"}

# ---------------------------------------------------------------------------------------------
# The validated spec


@dataclass(frozen=True, slots=True)
class BlockDef:
    name: str
    args: Mapping[str, Node]  # default values; null = required
    repeat: Mapping[str, Node]  # argument values on repetitions after the first
    layers: Node
    residual: Node | None
    line: int


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    width: float | None
    resolution: int | tuple[int, int] | None
    args: Mapping[str, Any]
    description: str


@dataclass(frozen=True, slots=True)
class WidthRule:
    multiplier: float = 1.0
    round: str = "nearest"
    divisor: int = 8
    min: int = 1

    def apply(self, channels: int, alpha: float) -> int:
        """Scale a channel count by alpha; at alpha = 1 counts stay as written."""
        if alpha == 1.0:
            return channels
        value = channels * alpha
        if self.round == "truncate":
            return max(int(value), self.min)
        if self.round == "divisor":
            return make_divisible(value, self.divisor, self.min)
        return max(int(round(value)), self.min)


@dataclass(frozen=True, slots=True)
class Spec:
    file: str
    name: str
    source: str
    description: str
    channels: int
    size: tuple[int, int]
    width: WidthRule
    defaults: Mapping[str, Mapping[str, Node]]
    blocks: Mapping[str, BlockDef]
    layers: Node
    args: Mapping[str, Any]
    variants: Mapping[str, Variant]
    paper_params: tuple[str, ...] | None


def bundled_dir(kind: str = "networks") -> Path:
    """The installed specs (package costcalc.specs), or specs/ beside the package when costcalc
    runs from a source checkout (e.g. `python -m costcalc` at the repository root)."""
    try:
        root = Path(str(resources.files("costcalc.specs")))
    except ModuleNotFoundError:
        root = Path(__file__).resolve().parent.parent / "specs"
    return root / kind


def bundled_specs() -> list[Path]:
    return sorted(bundled_dir().glob("*.yaml"))


def resolve(ref: str | Path) -> Path:
    """A path that exists is used as a path; otherwise the name of a bundled spec."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.exists():
        raise CostcalcError(f"{ref}: not a file")
    bare = path.parent == Path(".")
    stem = path.name.removesuffix(".yaml")
    if bare and (bundled_dir() / f"{stem}.yaml").is_file():
        return bundled_dir() / f"{stem}.yaml"
    names = [p.stem for p in bundled_specs()]
    close = difflib.get_close_matches(stem, names, n=1)
    if not bare:
        raise CostcalcError(f"{ref}: no such file\n  fix: check the path")
    fix = f"did you mean '{close[0]}'?" if close else "run `costcalc list` for the bundled specs"
    raise CostcalcError(f"{ref}: no such file, and no bundled spec of that name\n  fix: {fix}")


def load_spec(ref: str | Path) -> Spec:
    """Read and validate a spec file (a path, or the name of a bundled spec)."""
    path = resolve(ref)
    file = str(path) if Path(ref).is_file() else path.name
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CostcalcError(f"{ref}: cannot read: {exc}") from None
    return parse_spec(text, file)


def parse_spec(text: str, file: str = "<spec>") -> Spec:
    root = parse_yaml(text, file)
    return _Validator(file).spec(root)


# ---------------------------------------------------------------------------------------------
# Schema validation: collect every problem


def _syntax_only(text: str) -> Any:
    try:
        evaluate(text, _AnyNames())
    except ExprError as exc:
        if "unknown name" not in exc.what:
            raise FieldError(exc.what, exc.fix) from None
    return DEFERRED


class _AnyNames(dict):
    """Names for a syntax check: every name exists and is 1."""

    def __contains__(self, key: object) -> bool:
        return True

    def __getitem__(self, key: str) -> int:
        return 1


def _did_you_mean(key: str, allowed: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(sorted(allowed))


class _Validator:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, line, what, fix))

    def mapping(self, node: Node, what: str) -> dict[str, Node]:
        if isinstance(node.value, dict):
            return node.value
        self.problem(node.line, f"{what} must be a mapping, got {_describe(node.value)}")
        return {}

    def keys(self, entries: Mapping[str, Node], allowed: set[str], what: str) -> None:
        for key, node in entries.items():
            if key not in allowed:
                self.problem(node.line, f"{what}: unknown field '{key}'",
                             _did_you_mean(key, allowed))

    def value(self, hint: Any, node: Node, what: str, default: Any = None) -> Any:
        try:
            value = coerce(hint, plain(node), _syntax_only)
            _check_positive(what, value)
            return value
        except FieldError as exc:
            self.problem(node.line, f"{what}: {exc.what}", exc.fix)
            return default

    def spec(self, root: Node) -> Spec:
        top = self.mapping(root, "the spec")
        self.keys(top, TOP_KEYS, "spec")
        for key in ("version", "name", "input", "layers"):
            if key not in top and isinstance(root.value, dict):
                self.problem(1, f"missing required field '{key}'")
        if "version" in top and top["version"].value != 1:
            self.problem(top["version"].line, f"unsupported version {top['version'].value!r}",
                         "write `version: 1`")
        name = self._text(top.get("name"), "name")
        source = self._text(top.get("source"), "source")
        description = self._text(top.get("description"), "description")
        channels, size = self._input(top.get("input"))
        width = self._width(top.get("width"))
        args = self._args(top.get("args"), "args")
        blocks = self._blocks(top.get("blocks"))
        defaults = self._defaults(top.get("defaults"))
        variants = self._variants(top.get("variants"), args)
        paper_params = self._paper_params(top.get("paper_params"))
        layers = top.get("layers", Node([], 1))
        self.entries(layers, blocks, set(args), defaults)
        for block in blocks.values():
            names = set(args) | set(block.args) | {"c_in"}
            self.entries(block.layers, blocks, names, defaults, block.name)
            if block.residual is not None:
                self._residual(block.residual, blocks, names, defaults)
        if self.problems:
            raise SpecError(self.problems)
        return Spec(self.file, name, source, description, channels, size, width, defaults,
                    blocks, layers, args, variants, paper_params)

    def _text(self, node: Node | None, what: str) -> str:
        if node is None:
            return ""
        if not isinstance(node.value, str | int | float) or isinstance(node.value, bool):
            self.problem(node.line, f"{what}: expected text, got {_describe(node.value)}")
            return ""
        return " ".join(str(node.value).split())

    def _input(self, node: Node | None) -> tuple[int, tuple[int, int]]:
        if node is None:
            return 3, (224, 224)
        entries = self.mapping(node, "input")
        self.keys(entries, {"channels", "size"}, "input")
        channels = self.value(int, entries["channels"], "input: 'channels'", 3) \
            if "channels" in entries else 3
        if "size" not in entries:
            self.problem(node.line, "input: missing required field 'size'",
                         "e.g. `size: 224` or `size: [224, 224]`")
            return channels, (224, 224)
        size = self.value(int | tuple[int, int], entries["size"], "input: 'size'", 224)
        if size is DEFERRED or (isinstance(size, tuple) and DEFERRED in size):
            self.problem(entries["size"].line, "input: 'size' must be a number, not an expression")
            size = 224
        return channels, (size, size) if isinstance(size, int) else size

    def _width(self, node: Node | None) -> WidthRule:
        if node is None:
            return WidthRule()
        entries = self.mapping(node, "width")
        self.keys(entries, {"multiplier", "round", "divisor", "min"}, "width")
        hints = {"multiplier": float, "round": Literal["truncate", "divisor", "nearest"],
                 "divisor": int, "min": int}
        values = {k: self.value(hints[k], v, f"width: '{k}'") for k, v in entries.items()
                  if k in hints}
        values = {k: v for k, v in values.items() if v is not None and v is not DEFERRED}
        return WidthRule(**values)

    def _args(self, node: Node | None, what: str, allow_null: bool = False) -> dict[str, Any]:
        if node is None:
            return {}
        out: dict[str, Any] = {}
        for key, value in self.mapping(node, what).items():
            v = value.value
            if v is None and allow_null:
                out[key] = None
            elif isinstance(v, bool) or isinstance(v, int | float):
                out[key] = v
            else:
                self.problem(value.line, f"{what}: '{key}' must be a number or true/false, got "
                             f"{_describe(v)}")
        return out

    def _blocks(self, node: Node | None) -> dict[str, BlockDef]:
        if node is None:
            return {}
        blocks = {}
        for name, body in self.mapping(node, "blocks").items():
            if name in OPS or name == "parallel":
                self.problem(body.line, f"block name '{name}' is already a layer kind",
                             "choose another name")
                continue
            entries = self.mapping(body, f"block '{name}'")
            self.keys(entries, BLOCK_KEYS, f"block '{name}'")
            if "layers" not in entries:
                self.problem(body.line, f"block '{name}': missing required field 'layers'")
            arg_nodes = self.mapping(entries["args"], f"block '{name}': args") \
                if "args" in entries else {}
            self._args(entries.get("args"), f"block '{name}': args", allow_null=True)
            repeat = self.mapping(entries["repeat"], f"block '{name}': repeat") \
                if "repeat" in entries else {}
            for key, value in repeat.items():
                if key not in arg_nodes:
                    self.problem(value.line, f"block '{name}': repeat sets unknown argument "
                                 f"'{key}'", _did_you_mean(key, arg_nodes))
            blocks[name] = BlockDef(name, arg_nodes, repeat, entries.get("layers", Node([], 0)),
                                    entries.get("residual"), body.line)
        return blocks

    def _defaults(self, node: Node | None) -> dict[str, dict[str, Node]]:
        if node is None:
            return {}
        out = {}
        for kind, body in self.mapping(node, "defaults").items():
            if kind not in SCHEMAS:
                self.problem(body.line, f"defaults: unknown layer kind '{kind}'",
                             _did_you_mean(kind, SCHEMAS))
                continue
            fields = self.mapping(body, f"defaults: {kind}")
            self._op_fields(kind, fields, set(), check_required=False)
            out[kind] = fields
        return out

    def _variants(self, node: Node | None, args: Mapping[str, Any]) -> dict[str, Variant]:
        if node is None:
            return {}
        out = {}
        for name, body in self.mapping(node, "variants").items():
            entries = self.mapping(body, f"variant '{name}'")
            self.keys(entries, VARIANT_KEYS, f"variant '{name}'")
            width = self.value(float, entries["width"], f"variant '{name}': 'width'") \
                if "width" in entries else None
            res = self.value(int | tuple[int, int], entries["resolution"],
                             f"variant '{name}': 'resolution'") if "resolution" in entries else None
            vargs = self._args(entries.get("args"), f"variant '{name}': args")
            for key in vargs:
                if key not in args:
                    self.problem(entries["args"].value[key].line,
                                 f"variant '{name}': unknown argument '{key}'",
                                 _did_you_mean(key, args) if args else
                                 "declare it under the top-level `args:`")
            out[name] = Variant(name, width, res, vargs,
                                self._text(entries.get("description"), "description"))
        return out

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

    def _residual(self, node: Node, blocks: Mapping[str, BlockDef], names: set[str],
                  defaults: Mapping[str, Any]) -> None:
        if isinstance(node.value, bool | str):
            self.value(bool, node, "residual")
            return
        entries = self.mapping(node, "residual")
        self.keys(entries, RESIDUAL_KEYS, "residual")
        if "when" in entries:
            self.value(bool, entries["when"], "residual: 'when'")
        if "merge" in entries:
            self.value(Literal["concat", "add"], entries["merge"], "residual: 'merge'")
        if "act" in entries:
            self.value(Literal[ACTS], entries["act"], "residual: 'act'")
        if "shortcut" in entries:
            self.entries(entries["shortcut"], blocks, names, defaults)

    def _op_fields(self, kind: str, fields: Mapping[str, Node], provided_defaults: set[str],
                   check_required: bool = True, line: int = 0) -> None:
        schema = SCHEMAS[kind]
        allowed = set(schema.keys) | COMMON_KEYS
        if kind in SUGAR_KINDS:
            allowed |= SUGAR_KEYS
        elif "out" in schema.keys:
            allowed.add("scale")
        self.keys(fields, allowed, kind)
        for key, node in fields.items():
            if key in schema.keys:
                self.value(schema.hints[schema.keys[key]], node, f"{kind}: '{key}'")
        if "norm" in fields:
            self.value(Literal[NORMS], fields["norm"], f"{kind}: 'norm'")
        if "act" in fields:
            self.value(Literal[ACTS], fields["act"], f"{kind}: 'act'")
        if "scale" in fields:
            self.value(bool, fields["scale"], f"{kind}: 'scale'")
        if check_required:
            for key in sorted(schema.required - set(fields) - provided_defaults):
                self.problem(line, f"{kind}: missing required field '{key}'",
                             f"add `{key}: ...` to this layer or to `defaults: {kind}`")

    def entries(self, node: Node, blocks: Mapping[str, BlockDef], names: set[str],
                defaults: Mapping[str, Any], in_block: str | None = None) -> None:
        if not isinstance(node.value, list):
            self.problem(node.line, f"expected a list of layers, got {_describe(node.value)}")
            return
        for item in node.value:
            kind, body = self._entry(item, blocks)
            if kind is None:
                continue
            fields = body.value if isinstance(body.value, dict) else {}
            for key in ("n", "inputs", "when", "name"):
                if key in fields:
                    self._common(key, fields[key], kind)
            if kind in SCHEMAS:
                self._op_fields(kind, fields, set(defaults.get(kind, {})), line=item.line)
            elif kind == "parallel":
                self.keys(fields, {"branches", "merge"} | COMMON_KEYS, "parallel")
                self.value(Literal[MERGES], fields.get("merge", Node("concat", item.line)),
                           "parallel: 'merge'")
                branches = fields.get("branches")
                if branches is None or not isinstance(branches.value, list):
                    self.problem(item.line, "parallel: 'branches' must be a list of layer lists")
                    continue
                for branch in branches.value:
                    self.entries(branch, blocks, names, defaults, in_block)
            else:
                block = blocks[kind]
                if in_block == kind:
                    self.problem(item.line, f"block '{kind}' uses itself",
                                 "blocks cannot be recursive")
                    continue
                self.keys(fields, set(block.args) | COMMON_KEYS, f"block '{kind}'")
                for arg, default in block.args.items():
                    if default.value is None and arg not in fields:
                        self.problem(item.line, f"block '{kind}': missing required argument "
                                     f"'{arg}'")
                for key, value in fields.items():
                    if key in block.args and isinstance(value.value, str):
                        self.value(float, value, f"block '{kind}': '{key}'")

    def _entry(self, item: Node, blocks: Mapping[str, BlockDef]) -> tuple[str | None, Node]:
        if not isinstance(item.value, dict) or len(item.value) != 1:
            self.problem(item.line, "a layer entry must be one `kind: {fields}` mapping",
                         "e.g. `- conv: {out: 32, kernel: 3, stride: 2}`")
            return None, item
        (kind, body), = item.value.items()
        known = set(SCHEMAS) | set(blocks) | {"parallel"}
        if kind not in known:
            self.problem(item.line, f"unknown layer kind or block '{kind}'",
                         _did_you_mean(kind, known))
            return None, body
        if body.value is not None and not isinstance(body.value, dict):
            self.problem(body.line, f"{kind}: fields must be a mapping, got "
                         f"{_describe(body.value)}")
            return None, body
        return kind, Node(body.value or {}, body.line if body.value else item.line)

    def _common(self, key: str, node: Node, kind: str) -> None:
        if key == "n":
            self.value(int, node, f"{kind}: 'n'")
        elif key == "when":
            self.value(bool, node, f"{kind}: 'when'")
        elif key == "name":
            if not isinstance(node.value, str) or not node.value or "." in node.value:
                self.problem(node.line, f"{kind}: 'name' must be text without dots, got "
                             f"{_describe(node.value)}")
        elif not isinstance(node.value, list) or not all(
                isinstance(i.value, str) for i in node.value):
            self.problem(node.line, f"{kind}: 'inputs' must be a list of layer names")


# ---------------------------------------------------------------------------------------------
# Expansion: Spec + settings -> Graph


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
                                + (_did_you_mean(key, spec.args) if spec.args else
                                   "this spec declares no arguments"))
        values[key] = value
    return _Expander(spec, float(alpha), (size[0], size[1]), values).run()


def _variant(spec: Spec, name: str | None) -> Variant | None:
    if name is None:
        return None
    if name not in spec.variants:
        fix = _did_you_mean(name, spec.variants) if spec.variants else \
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

    def eval(self, text: str, variables: Mapping[str, Any], line: int) -> Any:
        try:
            return evaluate(text, variables)
        except ExprError as exc:
            raise self.fail(line, exc.what, exc.fix) from None

    def coerce(self, hint: Any, node: Node, variables: Mapping[str, Any], what: str) -> Any:
        try:
            value = coerce(hint, plain(node), lambda t: self.eval(t, variables, node.line))
            _check_positive(what, value)
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
            if _reaches(items, names, later, index):
                flow = [*reversed(_path(items, names, later, index)), index]
                path = " -> ".join(names[i] or f"line {items[i].line}" for i in flow)
                return self.fail(ref.line, f"cycle: {path}",
                                 "a layer cannot depend on its own output")
            return self.fail(ref.line, f"'{ref.value}' is used before it is defined (line "
                             f"{items[later].line})", "list layers in dependency order")
        return self.fail(ref.line, f"unknown layer '{ref.value}' in inputs",
                         _did_you_mean(ref.value, scope.visible()))

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


def _reaches(items: list[Node], names: list[str | None], start: int, goal: int) -> bool:
    return bool(_path(items, names, start, goal))

