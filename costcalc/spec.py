"""The spec loader: YAML with line numbers -> a validated Spec.

`load_spec` reads the YAML (yamlnodes) and checks the whole document against the schema,
reporting every problem it finds sorted by line. `expand.build_graph` then turns a Spec at given
settings into a Graph.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from .errors import CostcalcError, Problem, SpecError
from .expr import ExprError, evaluate, make_divisible
from .ops import OPS
from .schema import (
    ACTS,
    BLOCK_KEYS,
    COMMON_KEYS,
    DEFERRED,
    MERGES,
    NORMS,
    PARAM_ROLES,
    RESIDUAL_KEYS,
    ROUNDING,
    SCHEMAS,
    SUGAR_KEYS,
    SUGAR_KINDS,
    TOP_KEYS,
    VARIANT_KEYS,
    FieldError,
    check_positive,
    coerce,
    describe,
    did_you_mean,
)
from .yamlnodes import Node, parse_yaml, plain


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
    if not bare:
        raise CostcalcError(f"{ref}: no such file\n  fix: check the path")
    names = [p.stem for p in bundled_specs()]
    close = difflib.get_close_matches(stem, names, n=1)
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


class _Validator:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []

    def problem(self, line: int, what: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, line, what, fix))

    def mapping(self, node: Node, what: str) -> dict[str, Node]:
        if isinstance(node.value, dict):
            return node.value
        self.problem(node.line, f"{what} must be a mapping, got {describe(node.value)}")
        return {}

    def keys(self, entries: Mapping[str, Node], allowed: set[str], what: str) -> None:
        for key, node in entries.items():
            if key not in allowed:
                self.problem(node.line, f"{what}: unknown field '{key}'",
                             did_you_mean(key, allowed))

    def value(self, hint: Any, node: Node, what: str, default: Any = None) -> Any:
        try:
            value = coerce(hint, plain(node), _syntax_only)
            check_positive(what, value)
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
            self.problem(node.line, f"{what}: expected text, got {describe(node.value)}")
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
        hints = {"multiplier": float, "round": Literal[ROUNDING],
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
                             f"{describe(v)}")
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
                                 f"'{key}'", did_you_mean(key, arg_nodes))
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
                             did_you_mean(kind, SCHEMAS))
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
                                 did_you_mean(key, args) if args else
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
            self.problem(node.line, f"expected a list of layers, got {describe(node.value)}")
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
                         did_you_mean(kind, known))
            return None, body
        if body.value is not None and not isinstance(body.value, dict):
            self.problem(body.line, f"{kind}: fields must be a mapping, got "
                         f"{describe(body.value)}")
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
                             f"{describe(node.value)}")
        elif not isinstance(node.value, list) or not all(
                isinstance(i.value, str) for i in node.value):
            self.problem(node.line, f"{kind}: 'inputs' must be a list of layer names")
