"""Published figures as data: load `specs/papers/*.yaml` and compare each row with our count.

A papers file holds one paper's tables:

```yaml
paper: "Howard et al. 2017, MobileNets: ..., arXiv 1704.04861"   # the full citation
tables:
  table2:                       # id: the generated file is <papers file>.<id>.md
    title: "Table 2: ..."
    source: "Howard et al. 2017, Table 2"      # optional, like `description`
    rows:
      - {label: ..., spec: mobilenet_v1, settings: {params: paper},
         metric: "breakdown.conv kxk.macs_pct", published: 1.19, note: "...", expected: 1.91}
```

A row names a bundled spec (or a `formula`), the settings to analyze it at, a `metric` (a path
into the report's JSON, see `lookup`), the `published` value (in units of `scale`, default 1;
or a shape list), a relative `tolerance` (default 1 %) and a `note`. `fewer_than` turns the row
into a ratio claim ("N x fewer than X": computed = X's value / this row's value).

A row outside its tolerance is only accepted if its note's cause predicts the difference. The
prediction is one of (all in the row's units, after `scale`):

- `expected: V` - the value the note's cause gives for the computed figure (a shape list for
  shape rows, compared exactly);
- `expected_ratio: R` - computed / published as the cause predicts (FLOPs = 2 x MACs gives 0.5);
- `rounded: {step: S, mode: nearest | floor | ceil}` - the published figure is the computed one
  rounded to a multiple of S that way (a paper printing 3.664G as 3.6: step 0.1, floor).

`expected_tolerance` (relative; default: the row's `tolerance`) applies to `expected` and
`expected_ratio`; `rounded` is exact. A prediction needs a note, which states its cause.

Status: `match` (within tolerance of `published`; a note is fine), `explained` (not, but the
stated prediction holds, and there is a note) or `mismatch` (anything else: outside tolerance
with no prediction, or a prediction that does not hold).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundled import bundled_dir
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .formula import evaluate_formula
from .hardware import load_profile
from .report import BUCKETS, analyze
from .yamlnodes import Node, parse_yaml, plain

# A row's settings are analyze's keyword arguments, by their names there.
SETTING_KEYS = set(inspect.signature(analyze).parameters) - {"spec"}
PREDICTION_KEYS = ("expected", "expected_ratio", "rounded")
ROW_KEYS = {"label", "spec", "settings", "metric", "published", "scale", "tolerance", "note",
            "formula", "hardware", "fewer_than", "expected_tolerance", *PREDICTION_KEYS}
SOURCES = ("spec", "formula", "hardware")  # what a row counts: a network, a formula, a profile
REFERENCE_KEYS = {"spec", "settings", "metric"}
ROUNDING_MODES = {"nearest": lambda x: math.floor(x + 0.5), "floor": math.floor,
                  "ceil": math.ceil}
TABLE_KEYS = {"title", "source", "rows", "description"}
FILE_KEYS = {"paper", "tables"}
DEFAULT_TOLERANCE = 0.01  # relative: 1 %


@dataclass(frozen=True, slots=True)
class Prediction:
    """What a note's cause predicts for a row outside its tolerance (see the module docstring)."""

    kind: str  # expected | expected_ratio | rounded
    value: Any  # the expected value or ratio, or the rounding step
    tolerance: float = 0.0  # relative, for expected and expected_ratio
    mode: str = ""  # rounded only: nearest | floor | ceil

    def holds(self, computed: Any, published: Any) -> bool:
        if isinstance(published, list):
            return list(computed) == list(self.value)
        if self.kind == "expected":
            return _close(computed, float(self.value), self.tolerance)
        if self.kind == "expected_ratio":
            return _close(computed / float(published), float(self.value), self.tolerance)
        steps = ROUNDING_MODES[self.mode](computed / self.value)
        # exact up to float noise: 36 x 0.1 is 3.6000000000000005
        return _close(steps * self.value, float(published), 1e-9)

    def describe(self) -> str:
        if self.kind == "expected":
            return f"expected {_text(self.value)}"
        if self.kind == "expected_ratio":
            return f"expected ratio {_text(self.value)}"
        return f"{self.mode} to {_text(self.value)}"


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    spec: str
    settings: Mapping[str, Any]
    metric: str
    published: Any  # a number in units of `scale`, or a list (shapes)
    scale: float
    tolerance: float
    note: str
    line: int
    formula: str = ""  # a `costcalc formula` name instead of a spec; settings = its arguments
    hardware: str = ""  # a hardware profile instead of a spec: the metric is a path into it
    # A claim "N x fewer than X": computed = X's value / this row's value. X is a mapping with
    # `spec`, optional `settings`, optional `metric` (default: the row's metric).
    fewer_than: Mapping[str, Any] | None = None
    prediction: Prediction | None = None


@dataclass(frozen=True, slots=True)
class PaperTable:
    id: str
    title: str
    source: str
    description: str
    rows: tuple[Row, ...]
    file: str
    paper: str = ""  # the file's `paper:`, the full citation


@dataclass(frozen=True, slots=True)
class RowResult:
    row: Row
    computed: Any  # in units of row.scale
    delta_pct: float | None  # (computed - published) / published, in percent
    status: str  # match | explained | mismatch


def default_papers_dir() -> Path:
    """The bundled specs/papers directory: the one place that default is decided."""
    return bundled_dir("papers")


def load_tables(paths: Iterable[Path] | None = None) -> list[PaperTable]:
    """Every paper table in the given files (default: the bundled specs/papers/*.yaml)."""
    tables = []
    for path in sorted(paths if paths is not None else default_papers_dir().glob("*.yaml")):
        root = parse_yaml(path.read_text(encoding="utf-8"), path.name)
        tables.extend(_tables(root, path.name))
    return tables


def _unknown(file: str, fields: Mapping[str, Node], allowed: set[str], where: str
             ) -> list[Problem]:
    """One located problem per unknown key, with a did-you-mean hint."""
    return [Problem(file, node.line, f"{where}unknown field '{key}'", did_you_mean(key, allowed))
            for key, node in fields.items() if key not in allowed]


def _tables(root: Node, file: str) -> list[PaperTable]:
    if not isinstance(root.value, dict):
        raise SpecError(Problem(file, root.line, "a papers file is a mapping",
                                "start with `paper:` (the citation) and `tables:`"))
    top: dict[str, Node] = root.value
    problems = _unknown(file, top, FILE_KEYS, "")
    problems += [Problem(file, 1, f"missing '{key}'", fix) for key, fix in (
        ("paper", "add `paper:` with the paper's full citation"),
        ("tables", "add `tables:`, a mapping of table id to title and rows"))
        if key not in top]
    if "tables" in top and not isinstance(top["tables"].value, dict):
        problems.append(Problem(file, top["tables"].line, "'tables' must be a mapping",
                                "map each table id to its title and rows"))
    if problems:
        raise SpecError(problems)
    paper = str(plain(top["paper"]) or "")
    out = []
    for table_id, node in top["tables"].value.items():
        table, found = _table(file, table_id, node, paper)
        problems += found
        out.append(table)
    if problems:
        raise SpecError(problems)
    return out


def _table(file: str, table_id: str, node: Node, paper: str) -> tuple[PaperTable, list[Problem]]:
    entries = node.value if isinstance(node.value, dict) else {}
    problems = _unknown(file, entries, TABLE_KEYS, f"table '{table_id}': ")
    rows = []
    items = entries.get("rows", Node([], node.line)).value
    for item in items if isinstance(items, list) else []:
        found = _row_problems(file, item)
        problems += found
        if not found:
            rows.append(_row(item))

    def text(key: str) -> str:
        return str(plain(entries[key])).strip() if key in entries else ""

    return PaperTable(table_id, text("title") or table_id, text("source"), text("description"),
                      tuple(rows), file, paper), problems


def _row_problems(file: str, item: Node) -> list[Problem]:
    if not isinstance(item.value, dict):
        return [Problem(file, item.line, "row: a row is a mapping",
                        "write `- {label: ..., spec: ..., metric: ..., published: ...}`")]
    fields: dict[str, Node] = item.value
    problems = _unknown(file, fields, ROW_KEYS, "row: ")
    # a formula row's settings are the formula's own arguments (checked when evaluated)
    settings = fields.get("settings")
    if "spec" in fields and settings is not None and isinstance(settings.value, dict):
        problems += _unknown(file, settings.value, SETTING_KEYS, "row: settings: ")
    sources = [key for key in SOURCES if key in fields]
    if len(sources) != 1:
        problems.append(Problem(file, item.line, "row: give one of spec, formula and hardware"
                                + (f", not {' and '.join(sources)}" if sources else ""),
                                "a row counts one network, one formula or one profile"))
    problems += [Problem(file, item.line, f"row: missing '{key}'", f"add `{key}:`")
                 for key in ("metric", "published") if key not in fields]
    reference = fields.get("fewer_than")
    if reference is not None and (not isinstance(reference.value, dict)
                                  or "spec" not in reference.value):
        problems.append(Problem(file, reference.line, "row: 'fewer_than' takes spec, settings "
                                "and metric", "write `fewer_than: {spec: NAME}`"))
    elif reference is not None:
        problems += _unknown(file, reference.value, REFERENCE_KEYS, "row: fewer_than: ")
    return problems + _prediction_problems(file, item.line, fields)


def _number(node: Node | None) -> bool:
    return node is not None and isinstance(node.value, int | float) \
        and not isinstance(node.value, bool)


def _prediction_problems(file: str, line: int, fields: Mapping[str, Node]) -> list[Problem]:
    given = [key for key in PREDICTION_KEYS if key in fields]
    if len(given) > 1:
        return [Problem(file, fields[given[1]].line, f"row: both '{given[0]}' and "
                        f"'{given[1]}'", "state one prediction per row")]
    if not given:
        if "expected_tolerance" in fields:
            return [Problem(file, fields["expected_tolerance"].line, "row: 'expected_tolerance'"
                            " without 'expected' or 'expected_ratio'", "remove it")]
        return []
    key, node = given[0], fields[given[0]]
    shape = "published" in fields and isinstance(fields["published"].value, list)
    if "note" not in fields:
        return [Problem(file, node.line, f"row: '{key}' without a note",
                        "add the `note:` that states the cause and its arithmetic")]
    if key == "rounded":
        return _rounded_problems(file, node, shape, fields)
    if shape and not (key == "expected" and isinstance(node.value, list)):
        return [Problem(file, node.line, f"row: a shape row takes `expected: [c, h, w]`, "
                        f"not '{key}: {plain(node)}'", "write the shape the note gives")]
    if not shape and not _number(node):
        return [Problem(file, node.line, f"row: '{key}' must be a number, got "
                        f"{plain(node)!r}", "write a plain number (1.91, not '1.91 %')")]
    tolerance = fields.get("expected_tolerance")
    if tolerance is not None and not _number(tolerance):
        return [Problem(file, tolerance.line, "row: 'expected_tolerance' must be a number",
                        "write a relative tolerance, e.g. 0.01 for 1 %")]
    return []


def _rounded_problems(file: str, node: Node, shape: bool, fields: Mapping[str, Node]
                      ) -> list[Problem]:
    fix = "write `rounded: {step: 0.1, mode: floor}` (mode: nearest, floor or ceil)"
    if shape or "expected_tolerance" in fields:
        return [Problem(file, node.line, "row: 'rounded' is exact, for a number row", fix)]
    value = node.value if isinstance(node.value, dict) else {}
    step, mode = value.get("step"), value.get("mode")
    if set(value) != {"step", "mode"} or not _number(step) or step.value <= 0 \
            or mode.value not in ROUNDING_MODES:
        return [Problem(file, node.line, f"row: bad 'rounded': {plain(node)!r}", fix)]
    return []


def _row(item: Node) -> Row:
    fields = plain(item)
    source = next(fields[key] for key in SOURCES if key in fields)
    tolerance = float(fields.get("tolerance", DEFAULT_TOLERANCE))
    return Row(str(fields.get("label", source)), str(fields.get("spec", "")),
               fields.get("settings") or {}, fields["metric"], fields["published"],
               float(fields.get("scale", 1)), tolerance, str(fields.get("note", "")).strip(),
               item.line, str(fields.get("formula", "")), str(fields.get("hardware", "")),
               fields.get("fewer_than"), _prediction(fields, tolerance))


def _prediction(fields: Mapping[str, Any], tolerance: float) -> Prediction | None:
    if "rounded" in fields:
        rounded = fields["rounded"]
        return Prediction("rounded", float(rounded["step"]), mode=rounded["mode"])
    for kind in ("expected", "expected_ratio"):
        if kind in fields:
            return Prediction(kind, fields[kind],
                              float(fields.get("expected_tolerance", tolerance)))
    return None


def lookup(report: Mapping[str, Any], path: str) -> Any:
    """A value from a report's JSON by a dotted path.

    `totals.macs`, `totals.params_by_role.weights`: plain keys.
    `breakdown.conv 1x1.macs_pct`: the breakdown entry of that bucket. The bucket is everything
    between the first and the last dot, so a name with a space (`conv 1x1`) works as written.
    It must be one of `report.BUCKETS`; a known bucket this network has no layers in gives 0
    (the report lists only non-empty buckets), an unknown one is an error.
    `block.fire2.params`: summed over the layer `fire2` and every layer inside it (`fire2.*`);
    `block.conv1.output`: the output shape of the last such layer.
    `layer.conv1.relu.activation_bytes`: that one row of `layers` exactly, nothing inside it.
    """
    head, _, rest = path.partition(".")
    name, _, key = rest.rpartition(".")
    if head == "breakdown":
        return _bucket(report, path, name, key)
    if head == "layers":
        raise CostcalcError(f"metric '{path}': `layers.` is not a metric path",
                            f"write `block.{rest}` for '{name}' and everything inside it, or "
                            f"`layer.{rest}` for that one row")
    if head in ("layer", "block"):
        members = [r for r in report["layers"] if r["name"] == name
                   or (head == "block" and r["name"].startswith(name + "."))]
        if not members:
            raise CostcalcError(f"metric '{path}': no layer named '{name}'")
        if key not in members[0]:
            raise CostcalcError(f"metric '{path}': a layer row has no '{key}'",
                                did_you_mean(key, members[0]))
        return members[-1][key] if key == "output" else sum(r[key] for r in members)
    value: Any = report
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise CostcalcError(f"metric '{path}': the report has no '{part}'")
        value = value[part]
    return value


def _bucket(report: Mapping[str, Any], path: str, bucket: str, key: str) -> Any:
    if bucket not in BUCKETS:
        raise CostcalcError(f"metric '{path}': unknown breakdown bucket '{bucket}'",
                            did_you_mean(bucket, BUCKETS))
    for share in report["breakdown"]:
        if share["bucket"] == bucket:
            if key not in share:
                raise CostcalcError(f"metric '{path}': a breakdown entry has no '{key}'",
                                    did_you_mean(key, share))
            return share[key]
    return 0  # a known bucket with no layers in this network


class Evaluator:
    """Evaluates rows, analyzing each (spec, settings) once."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    def report(self, spec: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        key = repr((spec, sorted(settings.items(), key=lambda kv: kv[0])))
        if key not in self._cache:
            res = settings.get("resolution")  # YAML writes [h, w] as a list
            given = {**settings, "resolution": tuple(res) if isinstance(res, list) else res}
            self._cache[key] = analyze(spec, **given).to_dict()
        return self._cache[key]

    def formula(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        key = repr(("formula", name, sorted(args.items(), key=lambda kv: kv[0])))
        if key not in self._cache:
            self._cache[key] = evaluate_formula(name, args).to_dict()
        return self._cache[key]

    def profile(self, name: str) -> dict[str, Any]:
        key = repr(("hardware", name))
        if key not in self._cache:
            self._cache[key] = load_profile(name).to_dict()
        return self._cache[key]

    def evaluate(self, row: Row) -> RowResult:
        if row.formula:
            source = self.formula(row.formula, row.settings)
        elif row.hardware:
            source = self.profile(row.hardware)
        else:
            source = self.report(row.spec, row.settings)
        value = lookup(source, row.metric)
        if row.fewer_than is not None:
            ref = row.fewer_than
            other = lookup(self.report(ref["spec"], ref.get("settings") or {}),
                           ref.get("metric", row.metric))
            value = other / value
        if isinstance(row.published, list):
            ok = list(value) == list(row.published)
            return RowResult(row, value, None, _status(row, value, ok))
        computed = value / row.scale
        published = float(row.published)
        delta = (computed - published) / published * 100 if published else math.inf
        return RowResult(row, computed, delta,
                         _status(row, computed, _close(computed, published, row.tolerance)))


def _close(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance * abs(target)


def _status(row: Row, computed: Any, ok: bool) -> str:
    if ok:
        return "match"
    # outside tolerance: only a stated prediction that holds makes the note an explanation
    if row.note and row.prediction is not None and row.prediction.holds(computed,
                                                                         row.published):
        return "explained"
    return "mismatch"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " x ".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)
