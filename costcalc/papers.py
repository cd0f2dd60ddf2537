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
         metric: "breakdown.conv kxk.macs_pct", published: 1.19, note: "...",
         cause: paper-error, expected: 1.91}
```

docs/papers-format.md documents every field for authors.

A table may say `via: sweep`: its spec rows (totals paths only) are then counted by one
vectorized sweep over their widths x resolutions per spec setting, not one report each; the
values are the same, which tests/test_papers.py checks.

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
`expected_ratio`; `rounded` is exact. A prediction needs a note, which states its cause, and a
`cause:`, which says what kind of cause it is (`CAUSES`); each cause is checked its own way:

- `paper-error`: the published figure is wrong and the count is right (a typo, an arithmetic
  slip, a cell inconsistent with the paper's own table); `expected` or `expected_ratio` pins
  the count the note proves;
- `rounding`: the published figure is the count printed coarser than the tolerance admits, or
  truncated; `rounded` checks it mechanically (the count rounds that way to the printed value);
- `convention`: a different counting convention, input size, variant or unit (what params
  include, FLOPs = 2 x MACs, MiB vs MB); the note says which, and `expected` or
  `expected_ratio` pins what the count is under ours;
- `not-reproduced`: the cause is not found. Such a row claims no prediction (nothing to check
  but the note), and its status is never a success.

A spec row may carry `accuracy:`, the published ImageNet accuracy (%) of the paper's trained
model at the row's configuration, as printed: `{top1: 70.6}`, `{top1: 57.5, top5: 80.3}`, or
for a paper that prints error rates `{top1_err: 26.3}` (top-1 accuracy = 100 - error, to the
printed decimals). The configuration is what selects the network: the spec, its width and
input size, and every spec argument as resolved (its defaults, the variant's, the row's), so a
variant that only sets a width is the same configuration as that width. Counting settings
(`params`, `dtype`, `size`, `batch`, ...) are not part of it. Accuracy cannot be computed: it is
carried beside the row, never audited, and does not change the row's status. Give it once per
configuration and table (on the row of its cost figure, usually the MACs row); two rows of
one table giving one configuration different accuracies are an error. `costcalc compare` and
`costcalc plot pareto --y top1` read it (docs/sweep.md).

Status: `match` (within tolerance of `published`; a note is fine), the row's cause (not, but
the stated prediction holds), `not-reproduced` (outside tolerance, cause not found) or
`mismatch` (anything else: outside tolerance with no cause, or a prediction that does not
hold). A `not-reproduced` row that comes within tolerance fails the check (`stale_cause`):
remove its cause.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundled import bundled_dir, resolve
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .formula import evaluate_formula
from .hardware import load_profile
from .report import BUCKETS, METRICS, analyze
from .spec import load_spec
from .sweep import sweep
from .yamlnodes import Node, as_float, parse_yaml, plain

# A row's settings are analyze's keyword arguments, by their names there.
SETTING_KEYS = set(inspect.signature(analyze).parameters) - {"spec"}
PREDICTION_KEYS = ("expected", "expected_ratio", "rounded")
ROW_KEYS = {"label", "spec", "settings", "metric", "published", "scale", "tolerance", "note",
            "formula", "hardware", "fewer_than", "expected_tolerance", "cause", "accuracy",
            *PREDICTION_KEYS}
# A non-matching row's kind of cause, and the predictions that check each (module docstring).
CAUSES = {"paper-error": ("expected", "expected_ratio"),
          "rounding": ("rounded",),
          "convention": ("expected", "expected_ratio"),
          "not-reproduced": ()}
EXPLAINED = ("paper-error", "rounding", "convention")  # causes found: the count is trusted
# `accuracy:` keys, as printed: an accuracy or an error rate (accuracy = 100 - error), in %
ACCURACY_KEYS = {"top1": ("top1", False), "top5": ("top5", False),
                 "top1_err": ("top1", True), "top5_err": ("top5", True)}
# the settings that select the network (its configuration); the others choose how to count it
CONFIG_SETTINGS = ("variant", "width", "resolution", "args")
SOURCES = ("spec", "formula", "hardware")  # what a row counts: a network, a formula, a profile
REFERENCE_KEYS = {"spec", "settings", "metric"}
ROUNDING_MODES = {"nearest": lambda x: math.floor(x + 0.5), "floor": math.floor,
                  "ceil": math.ceil}
TABLE_KEYS = {"title", "source", "rows", "description", "via"}
VIA = ("analyze", "sweep")  # how a table's spec rows are counted: one report each, or one sweep
FILE_KEYS = {"paper", "tables"}
DEFAULT_TOLERANCE = 0.01  # relative: 1 %
# The first words of every file `costcalc tables` generates: it replaces or removes only those.
GENERATED = "<!-- Generated by `costcalc tables` from "


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
class Accuracy:
    """A row's published accuracy (%), as printed: each figure is an accuracy or an error."""

    printed: Mapping[str, float]  # the row's `accuracy:` mapping (top1, top5, top1_err, ...)

    def value(self, which: str = "top1") -> float | None:
        """The accuracy in %, from the printed accuracy or 100 - the printed error, to the
        printed decimals (100 - 26.3 is 73.7, not 73.69999999999999)."""
        for key, (name, error) in ACCURACY_KEYS.items():
            if name == which and key in self.printed:
                number = float(self.printed[key])
                if not error:
                    return number
                return round(100 - number, max(_places(self.printed[key]), 0))
        return None

    def text(self, which: str = "top1") -> str:
        """The accuracy with the printed decimals (72.0 stays 72.0), or '' if not given."""
        value = self.value(which)
        key = which if which in self.printed else f"{which}_err"
        return "" if value is None else f"{value:.{_places(self.printed[key])}f}"

    def describe(self) -> str:
        """`70.6` or `73.7 (error 26.3)`, with top-5 after a slash."""
        parts = []
        for which in ("top1", "top5"):
            text = self.text(which)
            if not text:
                continue
            if f"{which}_err" in self.printed:
                text += f" (error {self.printed[which + '_err']:g})"
            parts.append(("top-5 " if which == "top5" else "") + text)
        return " / ".join(parts)


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
    cause: str = ""  # one of CAUSES, or "" (a row that matches needs none)
    accuracy: Accuracy | None = None  # published, carried as data (never computed)


@dataclass(frozen=True, slots=True)
class PaperTable:
    id: str
    title: str
    source: str
    description: str
    rows: tuple[Row, ...]
    file: str
    paper: str = ""  # the file's `paper:`, the full citation
    via: str = "analyze"  # sweep: the spec rows' widths x resolutions are one vectorized sweep


@dataclass(frozen=True, slots=True)
class RowResult:
    row: Row
    computed: Any  # in units of row.scale
    delta_pct: float | None  # (computed - published) / published, in percent
    status: str  # match | paper-error | rounding | convention | not-reproduced | mismatch

    @property
    def stale_cause(self) -> bool:
        """A row recorded as not reproduced that now matches: its cause must go."""
        return self.status == "match" and self.row.cause == "not-reproduced"


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
    if not isinstance(node.value, dict):
        problems.append(Problem(file, node.line, f"table '{table_id}' must be a mapping",
                                "give it a title and rows"))
    rows = []
    items = entries.get("rows", Node([], node.line)).value
    if not isinstance(items, list):
        problems.append(Problem(file, entries["rows"].line, f"table '{table_id}': 'rows' must "
                                "be a list of rows", "write `rows:` then `- {label: ...}` lines"))
    for item in items if isinstance(items, list) else []:
        found = _row_problems(file, item)
        problems += found
        if not found:
            rows.append(_row(item))

    def text(key: str) -> str:
        return str(plain(entries[key])).strip() if key in entries else ""

    problems += _accuracy_conflicts(file, table_id, rows)
    via = text("via") or "analyze"
    if via not in VIA:
        problems.append(Problem(file, entries["via"].line, f"table '{table_id}': unknown 'via' "
                                f"'{via}'", did_you_mean(via, VIA)))
    return PaperTable(table_id, text("title") or table_id, text("source"), text("description"),
                      tuple(rows), file, paper, via), problems


def _accuracy_conflicts(file: str, table_id: str, rows: list[Row]) -> list[Problem]:
    """Two rows of one table that give one configuration different accuracies."""
    seen: dict[Any, Row] = {}
    out = []
    for row in rows:
        if row.accuracy is None:
            continue
        try:
            key = configuration(row.spec, row.settings)
        except CostcalcError:
            continue  # an unknown spec or variant: evaluating the row reports it
        first = seen.setdefault(key, row)
        if first is not row and first.accuracy != row.accuracy:
            out.append(Problem(file, row.line, f"table '{table_id}': '{row.label}' gives its "
                               f"configuration accuracy {row.accuracy.describe()}, but line "
                               f"{first.line} gives {first.accuracy.describe()}",
                               "give a configuration's accuracy once per table"))
    return out


def _spec(name: str) -> Any:
    """A spec, parsed once per file version (configurations are looked up for many rows)."""
    path = resolve(name)
    return _parsed(name, path.stat().st_mtime_ns if path.is_file() else 0)


@functools.lru_cache(maxsize=128)
def _parsed(name: str, version: int) -> Any:
    return load_spec(name)


def configuration(spec: str, settings: Mapping[str, Any]) -> tuple[Any, ...]:
    """What selects the network of a row or a compared entry, resolved so that equal networks
    compare equal: (spec, width, (height, width) input, every spec argument). A variant is
    replaced by what it sets, so `variant: 0.75-224` (width 0.75) equals `width: 0.75`."""
    model = _spec(spec)
    name = settings.get("variant")
    if name and name not in model.variants:
        raise CostcalcError(f"{spec}: unknown variant '{name}'", did_you_mean(name,
                                                                             model.variants))
    variant = model.variants.get(name or "")
    alpha = settings.get("width")
    if alpha is None:
        alpha = variant.width if variant and variant.width else model.width.multiplier
    res = settings.get("resolution")
    if res is None and variant is not None:
        res = variant.resolution
    size = model.size if res is None else (res, res) if isinstance(res, int) else tuple(res)
    args = {**model.args, **(variant.args if variant else {}), **(settings.get("args") or {})}
    # model.file: a bundled spec's file name, or the path a spec file was given by
    return (model.file, float(alpha), (int(size[0]), int(size[1])), tuple(sorted(args.items())))


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
    problems += _kind_problems(file, fields)
    reference = fields.get("fewer_than")
    if reference is not None and (not isinstance(reference.value, dict)
                                  or "spec" not in reference.value):
        problems.append(Problem(file, reference.line, "row: 'fewer_than' takes spec, settings "
                                "and metric", "write `fewer_than: {spec: NAME}`"))
    elif reference is not None:
        problems += _unknown(file, reference.value, REFERENCE_KEYS, "row: fewer_than: ")
    return problems + (_prediction_problems(file, item.line, fields)
                       or _cause_problems(file, fields)) + _accuracy_problems(file, fields)


def _accuracy_problems(file: str, fields: Mapping[str, Node]) -> list[Problem]:
    node = fields.get("accuracy")
    if node is None:
        return []
    fix = "write `accuracy: {top1: 70.6}` (or top5, or top1_err / top5_err as printed)"
    if not isinstance(node.value, dict) or not node.value:
        return [Problem(file, node.line, f"row: 'accuracy' must be a mapping, got "
                        f"{plain(node)!r}", fix)]
    if "spec" not in fields or "fewer_than" in fields:
        return [Problem(file, node.line, "row: 'accuracy' belongs to a network's row (a spec "
                        "without fewer_than)", "move it to the row that counts the network")]
    out = _unknown(file, node.value, set(ACCURACY_KEYS), "row: accuracy: ")
    for key, value in node.value.items():
        if key in ACCURACY_KEYS and (not _number(value) or not 0 <= value.value <= 100):
            out.append(Problem(file, value.line, f"row: accuracy: '{key}' must be a "
                               f"percentage (0 to 100), got {plain(value)!r}", fix))
    for which in ("top1", "top5"):
        if which in node.value and f"{which}_err" in node.value:
            out.append(Problem(file, node.line, f"row: accuracy: both '{which}' and "
                               f"'{which}_err'", "give the figure the paper prints"))
    return out


def _kind_problems(file: str, fields: Mapping[str, Node]) -> list[Problem]:
    """Each row field of the type it must have: a number (published may be a shape list), a
    mapping, or text."""
    out = []
    published = fields.get("published")
    if published is not None and not _number(published) and not (
            isinstance(published.value, list) and published.value
            and all(_number(n) for n in published.value)):
        out.append(Problem(file, published.line, f"row: 'published' must be a number or a "
                           f"shape list, got {plain(published)!r}"))
    for key in ("scale", "tolerance", "expected_tolerance"):
        if key not in fields:
            continue
        value = as_float(fields[key].value)
        if value is None or value < 0 or (key == "scale" and value == 0):
            out.append(Problem(file, fields[key].line, f"row: '{key}' must be a "
                               f"{'positive' if key == 'scale' else 'non-negative'} number, "
                               f"got {plain(fields[key])!r}"))
    for key in ("settings",):
        if key in fields and fields[key].value is not None and \
                not isinstance(fields[key].value, dict):
            out.append(Problem(file, fields[key].line, f"row: '{key}' must be a mapping, got "
                               f"{plain(fields[key])!r}"))
    for key in ("label", "note", "metric", *SOURCES):
        if key in fields and not isinstance(fields[key].value, str):
            out.append(Problem(file, fields[key].line, f"row: '{key}' must be text, got "
                               f"{plain(fields[key])!r}"))
    return out


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


def _cause_problems(file: str, fields: Mapping[str, Node]) -> list[Problem]:
    """A prediction needs a cause, a cause needs a note, and each cause takes the predictions
    that check it (`CAUSES`): rounding `rounded`, paper-error and convention `expected` or
    `expected_ratio`, not-reproduced none."""
    given = [key for key in PREDICTION_KEYS if key in fields]
    node = fields.get("cause")
    if node is None:
        return [Problem(file, fields[given[0]].line, f"row: '{given[0]}' without a cause",
                        "add `cause:` (" + ", ".join(CAUSES) + "): what kind of cause the "
                        "note states")] if given else []
    cause = node.value
    if not isinstance(cause, str) or cause not in CAUSES:
        return [Problem(file, node.line, f"row: unknown cause {plain(node)!r}",
                        did_you_mean(str(cause), CAUSES, "allowed: " + ", ".join(CAUSES)))]
    if "note" not in fields:
        return [Problem(file, node.line, f"row: cause '{cause}' without a note",
                        "add the `note:` that states the cause and its arithmetic")]
    allowed = CAUSES[cause]
    if not allowed and given:
        return [Problem(file, fields[given[0]].line, f"row: a not-reproduced row claims no "
                        f"prediction, but gives '{given[0]}'",
                        f"remove '{given[0]}' (or name the cause it proves)")]
    if allowed and not any(key in fields for key in allowed):
        wanted = " or ".join(f"`{key}:`" for key in allowed)
        what = ("the rounding that gives the printed value, e.g. `rounded: {step: 0.1, mode: "
                "floor}`" if cause == "rounding" else "the count the note's arithmetic gives")
        return [Problem(file, node.line, f"row: cause '{cause}' is checked by {wanted}"
                        + (f", not '{given[0]}'" if given else ""), f"add {what}")]
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
               fields.get("fewer_than"), _prediction(fields, tolerance),
               str(fields.get("cause", "")),
               Accuracy(fields["accuracy"]) if "accuracy" in fields else None)


def _places(value: Any) -> int:
    text = repr(value)
    return len(text.partition(".")[2]) if "." in text and "e" not in text else 0


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

    def sweep(self, table: PaperTable) -> None:
        """Count a `via: sweep` table's spec rows with one vectorized sweep per spec and its
        other settings (the rows' widths x resolutions); `evaluate` then reads them."""
        groups: dict[str, tuple[str, dict[str, Any], set[float], set[tuple[int, int]]]] = {}
        for row in table.rows:
            if not row.spec or row.fewer_than is not None:
                continue
            rest = {k: v for k, v in row.settings.items() if k not in ("width", "resolution")}
            alpha, size = self._axes(row)
            _, _, alphas, sizes = groups.setdefault(_group_key(row.spec, rest),
                                                    (row.spec, rest, set(), set()))
            alphas.add(alpha)
            sizes.add(size)
        for key, (spec, rest, alphas, sizes) in groups.items():
            result = sweep(spec, sorted(alphas), sorted(sizes), **rest)
            self._cache[key] = {(float(a), int(h), int(w)): {k: v[i] for k, v in
                                                            result.totals.items()}
                                for i, (a, h, w) in enumerate(zip(result.alpha, result.height,
                                                                  result.width, strict=True))}

    def _axes(self, row: Row) -> tuple[float, tuple[int, int]]:
        _, alpha, size, _ = configuration(row.spec, row.settings)
        return alpha, size

    def _swept(self, row: Row) -> Any:
        rest = {k: v for k, v in row.settings.items() if k not in ("width", "resolution")}
        values = self._cache[_group_key(row.spec, rest)]
        alpha, (h, w) = self._axes(row)
        head, _, path = row.metric.partition(".")
        keys = {m.total_path: m.key for m in METRICS}
        if head != "totals" or path not in keys:
            raise CostcalcError(f"metric '{row.metric}': a `via: sweep` table reads totals only",
                                "use a totals.<metric> path, or count the table via analyze")
        value = values[(alpha, h, w)][keys[path]]
        return value.item() if hasattr(value, "item") else value

    def evaluate(self, row: Row, via: str = "analyze") -> RowResult:
        if row.formula:
            source = self.formula(row.formula, row.settings)
        elif row.hardware:
            source = self.profile(row.hardware)
        elif via == "sweep" and row.fewer_than is None:
            source = None
        else:
            source = self.report(row.spec, row.settings)
        value = self._swept(row) if source is None else lookup(source, row.metric)
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


def _group_key(spec: str, settings: Mapping[str, Any]) -> str:
    return repr(("sweep", spec, sorted(settings.items(), key=lambda kv: kv[0])))


def _close(value: float, target: float, tolerance: float) -> bool:
    return abs(value - target) <= tolerance * abs(target)


def _status(row: Row, computed: Any, ok: bool) -> str:
    if ok:
        return "match"
    if row.cause == "not-reproduced":
        return "not-reproduced"
    # outside tolerance: only a stated prediction that holds makes the note an explanation
    if row.cause and row.note and row.prediction is not None \
            and row.prediction.holds(computed, row.published):
        return row.cause
    return "mismatch"


def _text(value: Any) -> str:
    if isinstance(value, list):
        return " x ".join(map(str, value))
    return f"{value:,}" if isinstance(value, int) else str(value)
