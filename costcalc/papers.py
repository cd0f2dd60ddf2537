"""Published figures as data: load `specs/papers/*.yaml` and compare each row with our count.

A papers file holds one paper's tables. Each row names a bundled spec, the settings to analyze it
at, a metric (a path into the report's JSON, see `lookup`), the published value, the tolerance
and a note. Status: `match` (within tolerance), `explained` (outside it, and the note names the
cause) or `mismatch`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import CostcalcError, Problem, SpecError
from .report import analyze
from .spec import bundled_dir
from .yamlnodes import Node, parse_yaml, plain

SETTING_KEYS = {"width", "resolution", "variant", "args", "params", "batch", "dtype"}
ROW_KEYS = {"label", "spec", "settings", "metric", "published", "scale", "tolerance", "note",
            "formula", "fewer_than"}
REFERENCE_KEYS = {"spec", "settings", "metric"}
TABLE_KEYS = {"title", "source", "rows", "description"}
DEFAULT_TOLERANCE = 0.01  # relative: 1 %


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
    # A claim "N x fewer than X": computed = X's value / this row's value. X is a mapping with
    # `spec`, optional `settings`, optional `metric` (default: the row's metric).
    fewer_than: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class PaperTable:
    id: str
    title: str
    source: str
    description: str
    rows: tuple[Row, ...]
    file: str


@dataclass(frozen=True, slots=True)
class RowResult:
    row: Row
    computed: Any  # in units of row.scale
    delta_pct: float | None  # (computed - published) / published, in percent
    status: str  # match | explained | mismatch


def load_tables(paths: Iterable[Path] | None = None) -> list[PaperTable]:
    """Every paper table in the given files (default: the bundled specs/papers/*.yaml)."""
    tables = []
    for path in sorted(paths if paths is not None else bundled_dir("papers").glob("*.yaml")):
        root = parse_yaml(path.read_text(encoding="utf-8"), path.name)
        tables.extend(_tables(root, path.name))
    return tables


def _tables(root: Node, file: str) -> list[PaperTable]:
    problems: list[Problem] = []
    out = []
    top = root.value if isinstance(root.value, dict) else {}
    for table_id, node in (top.get("tables", Node({}, 1)).value or {}).items():
        entries = node.value if isinstance(node.value, dict) else {}
        for key, value in entries.items():
            if key not in TABLE_KEYS:
                problems.append(Problem(file, value.line, f"table '{table_id}': unknown field "
                                        f"'{key}'"))
        rows = []
        for item in entries.get("rows", Node([], node.line)).value:
            fields = plain(item) if isinstance(item.value, dict) else {}
            unknown = set(fields) - ROW_KEYS
            # a formula row's settings are the formula's own arguments (checked when evaluated)
            bad_settings = set() if "formula" in fields else \
                set(fields.get("settings") or {}) - SETTING_KEYS
            required = {"formula" if "formula" in fields else "spec", "metric", "published"}
            missing = required - set(fields)
            reference = fields.get("fewer_than")
            bad_reference = reference is not None and (
                not isinstance(reference, dict) or "spec" not in reference
                or bool(set(reference) - REFERENCE_KEYS))
            if unknown or bad_settings or missing or bad_reference:
                parts = [f"unknown field(s) {sorted(unknown)}" if unknown else "",
                         f"unknown setting(s) {sorted(bad_settings)}" if bad_settings else "",
                         f"missing {sorted(missing)}" if missing else "",
                         "'fewer_than' takes spec, settings and metric" if bad_reference
                         else ""]
                what = "; ".join(p for p in parts if p)
                problems.append(Problem(file, item.line, f"row: {what}"))
                continue
            source = fields.get("spec", fields.get("formula"))
            rows.append(Row(str(fields.get("label", source)), str(fields.get("spec", "")),
                            fields.get("settings") or {}, fields["metric"], fields["published"],
                            float(fields.get("scale", 1)),
                            float(fields.get("tolerance", DEFAULT_TOLERANCE)),
                            str(fields.get("note", "")).strip(), item.line,
                            str(fields.get("formula", "")), reference))
        out.append(PaperTable(table_id, str(plain(entries.get("title", Node(table_id, 0)))),
                              str(plain(entries.get("source", Node("", 0)))),
                              str(plain(entries.get("description", Node("", 0)))).strip(),
                              tuple(rows), file))
    if problems:
        raise SpecError(problems)
    return out


def lookup(report: Mapping[str, Any], path: str) -> Any:
    """A value from a report's JSON by a dotted path.

    `totals.macs`, `totals.params_by_role.weights`: plain keys.
    `breakdown.conv 1x1.macs_pct`: the breakdown entry of that bucket.
    `layers.fire2.params`: summed over the layer `fire2` and every layer inside it (`fire2.*`);
    `layers.conv1.output`: the output shape of the last such layer.
    `layer.conv1.relu.activation_bytes`: that one layer exactly (one tensor), nothing inside it.
    """
    head, _, rest = path.partition(".")
    if head == "breakdown":
        bucket, _, key = rest.rpartition(".")
        for share in report["breakdown"]:
            if share["bucket"] == bucket:
                return share[key]
        return 0
    if head == "layer":
        name, _, key = rest.rpartition(".")
        for r in report["layers"]:
            if r["name"] == name:
                return r[key]
        raise CostcalcError(f"metric '{path}': no layer named '{name}'")
    if head == "layers":
        name, _, key = rest.rpartition(".")
        members = [r for r in report["layers"] if r["name"] == name
                   or r["name"].startswith(name + ".")]
        if not members:
            raise CostcalcError(f"metric '{path}': no layer named '{name}'")
        return members[-1][key] if key == "output" else sum(r[key] for r in members)
    value: Any = report
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise CostcalcError(f"metric '{path}': the report has no '{key}'")
        value = value[key]
    return value


class Evaluator:
    """Evaluates rows, analyzing each (spec, settings) once."""

    def __init__(self) -> None:
        self._cache: dict[str, dict[str, Any]] = {}

    def report(self, spec: str, settings: Mapping[str, Any]) -> dict[str, Any]:
        key = repr((spec, sorted(settings.items(), key=lambda kv: kv[0])))
        if key not in self._cache:
            s = dict(settings)
            res = s.pop("resolution", None)
            self._cache[key] = analyze(
                spec, width=s.pop("width", None),
                resolution=tuple(res) if isinstance(res, list) else res,
                variant=s.pop("variant", None), args=s.pop("args", None),
                params=s.pop("params", "framework"), batch=s.pop("batch", 1),
                dtype=s.pop("dtype", "fp32")).to_dict()
        return self._cache[key]

    def formula(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        key = repr(("formula", name, sorted(args.items(), key=lambda kv: kv[0])))
        if key not in self._cache:
            from .formula import evaluate_formula  # formula builds specs: import on use

            self._cache[key] = evaluate_formula(name, args).to_dict()
        return self._cache[key]

    def evaluate(self, row: Row) -> RowResult:
        source = self.formula(row.formula, row.settings) if row.formula else \
            self.report(row.spec, row.settings)
        value = lookup(source, row.metric)
        if row.fewer_than is not None:
            ref = row.fewer_than
            other = lookup(self.report(ref["spec"], ref.get("settings") or {}),
                           ref.get("metric", row.metric))
            value = other / value
        if isinstance(row.published, list):
            ok = list(value) == list(row.published)
            return RowResult(row, value, None, _status(ok, row.note))
        computed = value / row.scale
        published = float(row.published)
        delta = (computed - published) / published * 100 if published else math.inf
        ok = abs(computed - published) <= row.tolerance * abs(published)
        return RowResult(row, computed, delta, _status(ok, row.note))


def _status(ok: bool, note: str) -> str:
    if ok:
        return "match"
    return "explained" if note else "mismatch"
