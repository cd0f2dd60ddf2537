"""Regenerated paper tables: specs/papers/*.yaml -> one Markdown file per table + an index.

`generate` computes every document in memory (deterministically: files, tables and rows in
their data order, numbers formatted by fixed rules); `write` replaces the files atomically, one
whole file at a time, after everything has been computed; `check` compares the documents with
what is on disk and lists what fails the gate: every mismatch row, every not-reproduced row
that now matches (its cause is stale) and, for the Markdown documents, every stale, missing or
extra file. Each row's status is `match`, one of the causes of `papers.CAUSES` or `mismatch`
(`STATUSES`, explained in `MEANING` and docs/papers-format.md).
The generator knows nothing about particular metrics: a row names a path into a report (or a
formula's result), so a metric added to the report later is usable from the data alone.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import surveys
from .errors import CostcalcError, did_you_mean
from .papers import (
    EXPLAINED,
    GENERATED,
    Evaluator,
    PaperTable,
    Row,
    RowResult,
    default_papers_dir,
    load_tables,
)

# Every status a row can have, in the order tables and counts show them: a match, the three
# causes found (`papers.EXPLAINED`), a cause not found, a failure.
STATUSES = ("match", *EXPLAINED, "not-reproduced", "mismatch")
MEANING = {
    "match": "within the row's tolerance of the published value",
    "paper-error": "the published figure is wrong and the count is right (a typo, an "
                   "arithmetic slip or a cell inconsistent with the paper's own table, which "
                   "the note proves); the count is checked against the note's `expected`",
    "rounding": "the published figure is the count rounded or truncated coarser than the "
                "tolerance admits; checked mechanically: the count, rounded as stated, gives "
                "the printed value",
    "convention": "a different counting convention, input size, variant or unit (what params "
                  "include, FLOPs = 2 x MACs, MiB vs MB), named in the note; the count is "
                  "checked against what the note predicts under ours (`expected` or an "
                  "expected ratio computed / published)",
    "not-reproduced": "we cannot reproduce the figure and have not found the cause; the note "
                      "says what was tried. Not a success, and nothing is checked but the count",
    "mismatch": "a failure: outside tolerance with no cause, or a prediction that does not "
                "hold (`costcalc tables --check` exits 1)",
}
HEADER = (GENERATED + "specs/papers/{file}. Do not edit: "
          "edit the data and regenerate. -->")


@dataclass(frozen=True, slots=True)
class TableResult:
    table: PaperTable
    results: tuple[RowResult, ...]

    @property
    def filename(self) -> str:
        return f"{Path(self.table.file).stem}.{self.table.id}.md"

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)


@dataclass(frozen=True, slots=True)
class Generated:
    tables: tuple[TableResult, ...]
    documents: Mapping[str, str]  # file name -> Markdown text

    def mismatches(self) -> list[str]:
        """The rows that fail the check: every mismatch, and every not-reproduced row that now
        matches (its recorded cause is stale)."""
        out = []
        for t in self.tables:
            for r in t.results:
                where = f"{t.table.file}:{r.row.line}: {t.table.id}: '{r.row.label}'"
                numbers = f"published {_published(r)}, computed {_computed(r)}"
                if r.status == "mismatch":
                    out.append(f"{where} is a mismatch ({numbers})")
                elif r.stale_cause:
                    out.append(f"{where} matches ({numbers}) but says `cause: not-reproduced`:"
                               " remove the cause and correct the note")
        return out

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for t in self.tables:
            total.update(t.counts())
        return total

    def summary(self) -> str:
        """One line: the rows per status (what `--check` and `--out` print)."""
        return summary_line(self.counts())


def summary_line(counts: Counter[str]) -> str:
    explained = sum(counts[s] for s in EXPLAINED)
    return (f"{sum(counts.values())} rows: {counts['match']} match, {explained} explained ("
            + ", ".join(f"{counts[s]} {s}" for s in EXPLAINED) + f"), {counts['not-reproduced']}"
            f" not-reproduced, {counts['mismatch']} mismatch")


def papers_files(papers_dir: Path | None = None) -> list[Path]:
    directory = papers_dir if papers_dir is not None else default_papers_dir()
    if not directory.is_dir():
        raise CostcalcError(f"{directory}: no such directory",
                            "point --papers at the specs/papers directory")
    return sorted(directory.glob("*.yaml"))


def generate(papers_dir: Path | None = None) -> Generated:
    """Evaluate every row of every paper table and render the documents (nothing is written)."""
    evaluator = Evaluator()
    tables = []
    for table in load_tables(papers_files(papers_dir)):
        results = []
        if table.via == "sweep":
            try:
                evaluator.sweep(table)
            except CostcalcError as exc:
                raise CostcalcError(f"{table.file}: {table.id}: {exc.what}", exc.fix) from None
        for row in table.rows:
            try:
                results.append(evaluator.evaluate(row, table.via))
            except CostcalcError as exc:
                raise CostcalcError(f"{table.file}:{row.line}: {table.id}: '{row.label}': "
                                    f"{exc.what}", exc.fix) from None
        tables.append(TableResult(table, tuple(results)))
    names = Counter(t.filename for t in tables)
    if duplicated := sorted(n for n, k in names.items() if k > 1):
        raise CostcalcError(f"duplicate table ids: {', '.join(duplicated)}",
                            "give each table of a papers file a unique id")
    documents = {t.filename: render_table(t) for t in tables}
    documents["index.md"] = render_index(tables)
    # Computed surveys live beside the papers files (specs/surveys next to specs/papers).
    folder = (papers_dir if papers_dir is not None else default_papers_dir()).parent / "surveys"
    for survey in surveys.load_surveys(folder):
        documents[survey.filename] = surveys.render(survey, evaluator)
    return Generated(tuple(tables), dict(sorted(documents.items())))


# ---------------------------------------------------------------------------------------------
# Formatting (fixed rules, so regeneration is byte-identical)


def _decimals(value: Any) -> int:
    text = repr(value)
    if "e" in text or "E" in text:
        return 3
    return len(text.partition(".")[2]) if "." in text else 0


def _number(value: float, decimals: int) -> str:
    if float(value).is_integer() and decimals == 0:
        return f"{int(value):,}"
    return f"{value:,.{decimals}f}"


def _published(r: RowResult) -> str:
    p = r.row.published
    if isinstance(p, list):
        return " x ".join(str(x) for x in p)
    return _number(float(p), _decimals(p))


def _computed(r: RowResult) -> str:
    c = r.computed
    if isinstance(c, list | tuple):
        return " x ".join(str(x) for x in c)
    if isinstance(c, bool) or not isinstance(c, int | float):
        return str(c)
    if float(c).is_integer() and (abs(c) >= 1e4 or _decimals(r.row.published) == 0):
        return f"{int(c):,}"
    # two more decimals than the paper printed: enough to see rounding and truncation
    return _number(float(c), _decimals(r.row.published) + 2)


def _delta(r: RowResult) -> str:
    if r.delta_pct is None:
        return "equal" if r.status == "match" else "differs"
    if math.isinf(r.delta_pct):
        return "n/a"
    return f"{round(r.delta_pct, 2) + 0.0:+.2f}%"  # + 0.0: never print -0.00%


def _scale(scale: float) -> str:
    names = {1e3: "k", 1e6: "M", 1e9: "G", 2**10: "Ki", 2**20: "Mi"}
    return names.get(scale, f"x{scale:g}") if scale != 1 else ""


def _settings(r: RowResult) -> str:
    row = r.row
    parts = [f"formula `{row.formula}`" if row.formula else
             f"profile `{row.hardware}`" if row.hardware else f"`{row.spec}`"]
    parts += _setting_parts(row.settings)
    if row.fewer_than is not None:
        ref = row.fewer_than
        parts.append(f"ratio: `{ref['spec']}`" + "".join(
            f", {p}" for p in _setting_parts(ref.get("settings") or {})) + " / this")
    return "; ".join(parts)


def _setting_parts(settings: Mapping[str, Any]) -> list[str]:
    parts = []
    for key in sorted(settings):
        value = settings[key]
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
        parts.append(f"{key}={value}")
    return parts


def _status(r: RowResult) -> str:
    # never a success, so never plain text: a failure or an unexplained figure stands out
    status = f"**{r.status}**" if r.status in ("mismatch", "not-reproduced") else r.status
    # a row outside tolerance is judged by its prediction: show it, so a reader can check it
    if r.status != "match" and r.row.prediction is not None:
        p = r.row.prediction
        within = f" ± {_percent(p.tolerance)}" if p.kind != "rounded" else ""
        status += f" ({p.describe()}{within})"
    return status


def _percent(fraction: float) -> str:
    return "exact" if fraction == 0 else f"{fraction * 100:g} %"


def _tolerance(r: RowResult) -> str:
    return "exact" if isinstance(r.row.published, list) else _percent(r.row.tolerance)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def render_table(t: TableResult) -> str:
    table = t.table
    lines = [HEADER.format(file=table.file), "", f"# {table.title}", ""]
    if table.paper:
        lines += [f"Paper: {table.paper}", ""]
    if table.source:
        lines += [f"Source: {table.source}", ""]
    if table.description:
        lines += [_cell(table.description), ""]
    counts = t.counts()
    lines += [", ".join(f"{counts[s]} {s}" for s in STATUSES if counts[s]) or "no rows", ""]
    # published accuracy is data about the trained model: shown beside the audited cost, only
    # in the tables that carry it, never computed and never part of the status
    accuracy = any(r.row.accuracy is not None for r in t.results)
    lines += ["| label | settings | metric | published | computed | delta | tolerance | status "
              "| " + ("published top-1 % | " if accuracy else "") + "note |",
              "|---|---|---|---:|---:|---:|---:|---|" + ("---:|" if accuracy else "") + "---|"]
    for r in t.results:
        unit = _scale(r.row.scale)
        metric = f"`{r.row.metric}`" + (f" ({unit})" if unit else "")
        shown = (r.row.accuracy.describe() if r.row.accuracy else "",) if accuracy else ()
        lines.append("| " + " | ".join(_cell(x) for x in (
            r.row.label, _settings(r), metric, _published(r), _computed(r), _delta(r),
            _tolerance(r), _status(r), *shown, r.row.note)) + " |")
    lines += ["", "Delta = (computed - published) / published. Tolerance: relative, per row "
              "(default 1 %; shapes compare exactly); a prediction's own tolerance is shown "
              "after it. Statuses: see [the index](index.md).", ""]
    if accuracy:
        lines += ["Published top-1 %: the ImageNet accuracy the source prints for the trained "
                  "model at the row's configuration (an error rate is shown as 100 - error, "
                  "the printed error in brackets). It is carried as data beside the row, not "
                  "computed: the status audits the cost figure only.", ""]
    return "\n".join(lines)


def render_index(tables: list[TableResult]) -> str:
    total: Counter[str] = Counter()
    lines = [HEADER.format(file="*.yaml"), "", "# Paper tables, regenerated", "",
             "Each table is recomputed from the network specs and the published figures under "
             "`specs/papers/` (the format: docs/papers-format.md). Each row has a status; a "
             "row outside its tolerance carries a `cause:` and a note, and is checked the way "
             "its cause says:", ""]
    lines += [f"- **{s}**: {MEANING[s]}." for s in STATUSES]
    lines += ["", "Paper-error, rounding and convention are the *explained* rows: the cause is "
              "found and the count is trusted.", "",
              "| table | source | rows | " + " | ".join(STATUSES) + " |",
              "|---|---|---:|" + "---:|" * len(STATUSES)]
    for t in tables:
        counts = t.counts()
        total.update(counts)
        lines.append(f"| [{_cell(t.table.title)}]({t.filename}) | {_cell(t.table.source)} | "
                     f"{len(t.results)} | " + " | ".join(str(counts[s]) for s in STATUSES)
                     + " |")
    lines.append(f"| **total** | | {sum(total.values())} | "
                 + " | ".join(f"**{total[s]}**" for s in STATUSES) + " |")
    lines += ["", f"Total: {summary_line(total)}.", ""]
    return "\n".join(lines)


def to_json(generated: Generated) -> list[dict[str, Any]]:
    """One record per row, for tools."""
    out = []
    for t in generated.tables:
        for r in t.results:
            row = r.row
            out.append({"file": t.table.file, "table": t.table.id, "title": t.table.title,
                        "label": row.label, "spec": row.spec or None,
                        "formula": row.formula or None, "hardware": row.hardware or None,
                        "settings": dict(row.settings),
                        "metric": row.metric, "published": row.published, "scale": row.scale,
                        "computed": list(r.computed) if isinstance(r.computed, tuple)
                        else r.computed,
                        "delta_pct": None if r.delta_pct is None or math.isinf(r.delta_pct)
                        else r.delta_pct,
                        "tolerance": row.tolerance, "prediction": _prediction(row),
                        "accuracy": dict(row.accuracy.printed) if row.accuracy else None,
                        "status": r.status, "cause": row.cause or None, "note": row.note,
                        "line": row.line})
    return out


def _prediction(row: Row) -> dict[str, Any] | None:
    p = row.prediction
    if p is None:
        return None
    if p.kind == "rounded":
        return {"rounded": {"step": p.value, "mode": p.mode}}
    return {p.kind: p.value, "tolerance": p.tolerance}


# ---------------------------------------------------------------------------------------------
# Writing and checking


def generated_by_us(path: Path) -> bool:
    """Whether a file is one `write` made: its first line is the generated-file header. Only
    such files are ever replaced or removed; anything else in the directory is the user's."""
    try:
        with path.open(encoding="utf-8") as handle:
            return handle.readline().startswith(GENERATED)
    except (OSError, UnicodeDecodeError):
        return False


def document(generated: Generated, name: str) -> str:
    """One generated document by its name (`howard2017_mobilenet_v1.table2`, `.md` optional,
    `index` for the index)."""
    key = name if name.endswith(".md") else f"{name}.md"
    if key not in generated.documents:
        names = [n.removesuffix(".md") for n in generated.documents]
        raise CostcalcError(f"--table {name}: no such table",
                            did_you_mean(name.removesuffix(".md"), names,
                                         "`costcalc tables` prints the index, which names "
                                         "every table's file"))
    return generated.documents[key]


def differences(generated: Generated, docs_dir: Path) -> list[str]:
    """Files under docs_dir that differ from what `write` would produce."""
    out = []
    for name, text in generated.documents.items():
        path = docs_dir / name
        if not path.is_file():
            out.append(f"{path}: missing")
        elif path.read_text(encoding="utf-8") != text:
            out.append(f"{path}: stale (differs from the regenerated table)")
    if docs_dir.is_dir():
        for path in sorted(docs_dir.glob("*.md")):
            if path.name not in generated.documents and generated_by_us(path):
                out.append(f"{path}: extra (no papers table generates it)")
    return out


def check(generated: Generated, docs_dir: Path, fmt: str = "markdown") -> list[str]:
    """What fails `costcalc tables`, in the order to print it (empty = pass).

    Every mismatch row fails, whatever the output. For Markdown, so does every file under
    docs_dir that differs from the regenerated documents (stale, missing or extra); JSON output
    writes no documents, so only its rows count.
    """
    stale = differences(generated, docs_dir) if fmt == "markdown" else []
    return generated.mismatches() + stale


def checkable(generated: Generated, docs_dir: Path) -> None:
    """Refuse a directory that holds none of the generated tables (a wrong path, or a checkout
    that never had them), instead of listing every file as missing."""
    present = docs_dir.is_dir() and any(generated_by_us(docs_dir / name)
                                        for name in generated.documents)
    if not present:
        state = "holds none of the generated tables" if docs_dir.is_dir() else \
            "no such directory"
        raise CostcalcError(
            f"{docs_dir}: {state} (looked in {docs_dir.resolve()})",
            "give the directory to compare with: `costcalc tables --check DIR`, in a costcalc "
            "clone `costcalc tables --check docs/tables` from its root; write the tables "
            "first with `costcalc tables --out DIR`, or print them with `costcalc tables`")


def write(generated: Generated, docs_dir: Path) -> list[str]:
    """Write every document (each file replaced whole, only after all are staged) and remove
    the generated files (see `generated_by_us`) no table generates any more. A file of the same
    name that this command did not generate is never overwritten: that is an error. Returns the
    names of the files that changed."""
    docs_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    changed = []
    foreign = [docs_dir / name for name in generated.documents
               if (docs_dir / name).exists() and not generated_by_us(docs_dir / name)]
    if foreign:
        raise CostcalcError(f"{foreign[0]}: exists and was not generated by `costcalc tables` "
                            f"(no generated-file header){_more(len(foreign) - 1)}",
                            "move it away, or choose another --out directory")
    try:
        for name, text in generated.documents.items():
            path = docs_dir / name
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                continue
            fd, tmp = tempfile.mkstemp(dir=docs_dir, prefix=f".{name}.", suffix=".tmp")
            staged.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
        for tmp, path in staged:
            os.replace(tmp, path)
            changed.append(path.name)
        staged = []
        for path in sorted(docs_dir.glob("*.md")):
            if path.name not in generated.documents and path.is_file() \
                    and not path.is_symlink() and generated_by_us(path):
                path.unlink()
                changed.append(path.name)
    except OSError as exc:
        raise CostcalcError(f"{docs_dir}: cannot write: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return changed


def _more(count: int) -> str:
    return f" (and {count} more)" if count else ""
