"""`costcalc tables`: regenerated paper tables, the --check gate, JSON, atomic writing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from costcalc import tables
from costcalc.bundled import bundled_dir
from costcalc.cli import main
from costcalc.errors import CostcalcError
from costcalc.papers import Evaluator, load_tables, lookup

REPO_DOCS = Path(__file__).resolve().parents[1] / "docs" / "tables"

# A self-contained papers directory: one spec given by path, one formula row.
SPEC = """\
version: 1
name: Tiny
source: test
input: {channels: 3, size: 8}
paper_params: [weights]
layers:
  - conv: {name: c1, out: 4, kernel: 3, pad: 1}
  - conv: {name: c2, out: 8, kernel: 1}
"""


def papers_text(spec: Path, published: int = 108, extra: str = "") -> str:
    """extra: more fields for the first row, e.g. ', note: "why", expected: 108'."""
    return f"""\
paper: Test paper
tables:
  t1:
    title: "Table 1: tiny"
    source: "Test, Table 1"
    rows:
      - {{label: "c1 params", spec: "{spec}", settings: {{params: paper}},
         metric: block.c1.params, published: {published}, tolerance: 0{extra}}}
      - {{label: "c2 output", spec: "{spec}", settings: {{}}, metric: block.c2.output,
         published: [8, 8, 8]}}
  t2:
    title: "Table 2: a formula"
    rows:
      - {{label: "fire params", formula: fire, settings: {{}}, metric: graph.params,
         published: 11920, tolerance: 0}}
"""


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(papers dir, docs dir, spec file), with the docs generated and up to date."""
    papers, docs, spec = tmp_path / "papers", tmp_path / "docs", tmp_path / "tiny.yaml"
    papers.mkdir()
    spec.write_text(SPEC, encoding="utf-8")
    (papers / "test.yaml").write_text(papers_text(spec), encoding="utf-8")
    tables.write(tables.generate(papers), docs)
    return papers, docs, spec


def test_generated_tree_checks_clean(tree) -> None:
    papers, docs, _ = tree
    assert sorted(p.name for p in docs.iterdir()) == ["index.md", "test.t1.md", "test.t2.md"]
    generated = tables.generate(papers)
    assert tables.check(generated, docs) == []
    assert "Paper: Test paper" in generated.documents["test.t1.md"]
    assert [r.status for t in generated.tables for r in t.results] == ["match"] * 3
    assert [r.computed for t in generated.tables for r in t.results] == [108.0, [8, 8, 8],
                                                                         11920.0]


EXPLAINED = ', note: "the paper rounds", cause: convention, expected: 108'  # what it predicts


def test_check_fails_when_a_published_value_changes(tree) -> None:
    papers, docs, spec = tree
    (papers / "test.yaml").write_text(papers_text(spec, 110, EXPLAINED), encoding="utf-8")
    generated = tables.generate(papers)
    assert generated.mismatches() == []  # explained: only the docs are stale
    stale = "stale (differs from the regenerated table)"
    assert tables.check(generated, docs) == [f"{docs / 'index.md'}: {stale}",
                                             f"{docs / 'test.t1.md'}: {stale}"]


def test_check_fails_on_a_mismatch_row(tree) -> None:
    papers, docs, spec = tree
    (papers / "test.yaml").write_text(papers_text(spec, 110), encoding="utf-8")
    generated = tables.generate(papers)
    tables.write(generated, docs)  # even when the docs are regenerated
    problems = tables.check(generated, docs)
    assert len(problems) == 1
    assert "test.yaml:7: t1: 'c1 params' is a mismatch (published 110, computed 108)" \
        in problems[0]


def test_check_fails_when_a_spec_changes(tree) -> None:
    papers, docs, spec = tree
    spec.write_text(SPEC.replace("out: 8", "out: 16"), encoding="utf-8")
    problems = tables.check(tables.generate(papers), docs)
    assert f"{docs / 'test.t1.md'}: stale (differs from the regenerated table)" in problems
    assert any("'c2 output' is a mismatch" in p for p in problems)


def test_check_names_missing_and_extra_files(tree) -> None:
    papers, docs, _ = tree
    (docs / "test.t2.md").unlink()
    # a table that is no longer generated (its header says it was); a user's file stays
    (docs / "old.md").write_text(tables.HEADER.format(file="old.yaml") + "\nx\n",
                                 encoding="utf-8")
    problems = tables.check(tables.generate(papers), docs)
    assert problems == [f"{docs / 'test.t2.md'}: missing",
                        f"{docs / 'old.md'}: extra (no papers table generates it)"]
    assert sorted(tables.write(tables.generate(papers), docs)) == ["old.md", "test.t2.md"]
    assert tables.check(tables.generate(papers), docs) == []


def test_generation_is_deterministic(tree) -> None:
    papers, docs, _ = tree
    first = tables.generate(papers).documents
    assert tables.generate(papers).documents == first
    assert {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir()} == dict(first)


def test_write_is_atomic(tree, monkeypatch) -> None:
    papers, docs, spec = tree
    before = {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir()}
    (papers / "test.yaml").write_text(papers_text(spec, 110, EXPLAINED), encoding="utf-8")
    generated = tables.generate(papers)

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(CostcalcError, match="cannot write: No space left on device"):
        tables.write(generated, docs)
    assert {p.name: p.read_text(encoding="utf-8") for p in docs.iterdir()} == before


def test_a_bad_row_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(
        "paper: P\ntables:\n  t:\n    title: T\n    rows:\n"
        "      - {spec: mobilenet_v1, metric: totals.nope, published: 1}\n", encoding="utf-8")
    with pytest.raises(CostcalcError, match=r"bad.yaml:6: t: 'mobilenet_v1': metric "
                                            r"'totals.nope': the report has no 'nope'"):
        tables.generate(tmp_path)


def test_lookup_single_layer_vs_subtree() -> None:
    report = Evaluator().report("mobilenet_v1", {"dtype": "fp16"})
    # `block.` sums conv, bn and relu; `layer.` is one tensor (MobileNetV2 Table 3's measure)
    assert lookup(report, "layer.separable2.conv2.relu.activation_bytes") == 802_816
    assert lookup(report, "block.separable2.conv2.activation_bytes") == 3 * 802_816


def test_cli_check_and_json(tree) -> None:
    papers, docs, spec = tree
    runner = CliRunner()
    ok = runner.invoke(main, ["tables", "--check", str(docs), "--papers", str(papers)])
    assert ok.exit_code == 0, ok.output
    assert ok.stdout == (f"ok: 2 tables, {docs} up to date; 3 rows: 3 match, 0 explained (0 "
                         "paper-error, 0 rounding, 0 convention), 0 not-reproduced, 0 mismatch\n")
    rows = json.loads(runner.invoke(main, ["tables", "--format", "json", "--papers",
                                           str(papers)]).stdout)
    assert [(r["table"], r["label"], r["status"]) for r in rows] == [
        ("t1", "c1 params", "match"), ("t1", "c2 output", "match"), ("t2", "fire params", "match")]
    (papers / "test.yaml").write_text(papers_text(spec, 110, EXPLAINED), encoding="utf-8")
    stale = runner.invoke(main, ["tables", "--check", str(docs), "--papers", str(papers)])
    assert stale.exit_code == 1
    assert "test.t1.md: stale" in stale.stderr and stale.stdout == ""


# ---------------------------------------------------------------------------------------------
# The bundled papers files and the committed docs/tables


def test_json_check_counts_rows_only(tree) -> None:
    """JSON output writes no documents, so stale files cannot fail it; a mismatch row does."""
    papers, docs, spec = tree
    (papers / "test.yaml").write_text(papers_text(spec, 110, EXPLAINED), encoding="utf-8")
    assert tables.check(tables.generate(papers), docs, "json") == []
    (papers / "test.yaml").write_text(papers_text(spec, 110), encoding="utf-8")
    (problem,) = tables.check(tables.generate(papers), docs, "json")
    assert "'c1 params' is a mismatch" in problem
    r = CliRunner().invoke(main, ["tables", "--format", "json", "--check", str(docs),
                                  "--papers", str(papers)])
    assert r.exit_code == 1 and "'c1 params' is a mismatch" in r.stderr


# ---------------------------------------------------------------------------------------------
# The bundled papers files and the committed docs/tables (the `bundled` fixture: conftest.py)


def test_every_bundled_row_is_match_or_explained(bundled) -> None:
    assert bundled.mismatches() == []


def test_committed_docs_are_up_to_date(bundled) -> None:
    if not REPO_DOCS.is_dir():
        pytest.skip("not run from a source checkout")
    assert tables.differences(bundled, REPO_DOCS) == []


def test_published_value_change_makes_bundled_docs_stale(tmp_path: Path) -> None:
    """One bundled file, one number changed: its document goes stale, its siblings do not."""
    if not REPO_DOCS.is_dir():
        pytest.skip("not run from a source checkout")
    name = "iandola2016_squeezenet.yaml"
    text = (bundled_dir("papers") / name).read_text(encoding="utf-8")
    assert "published: 11920," in text
    (tmp_path / name).write_text(text.replace("published: 11920,", "published: 11921,"),
                                 encoding="utf-8")
    generated = tables.generate(tmp_path)
    mine = {f"{REPO_DOCS / n}: stale (differs from the regenerated table)"
            for n in generated.documents if n != "index.md"}
    stale = set(tables.differences(generated, REPO_DOCS)) & mine
    assert stale == {f"{REPO_DOCS / 'iandola2016_squeezenet.table1_params.md'}: stale "
                     "(differs from the regenerated table)"}
    assert [m.split(": ", 1)[1] for m in generated.mismatches()] == [
        "table1_params: 'fire2' is a mismatch (published 11,921, computed 11,920)"]


def test_mobilenet_shufflenet_squeezenet_headline_figures(bundled) -> None:
    """MobileNet v1 Table 2/3, ShuffleNet v1 Table 1 and SqueezeNet Table 1 as computed (exact
    integers where the data allows)."""
    by_label = {(t.table.file, t.table.id, r.row.label): r for t in bundled.tables
                for r in t.results}
    t2 = by_label[("howard2017_mobilenet_v1.yaml", "table2", "Conv 3x3, Mult-Adds %")]
    assert (t2.row.published, round(t2.computed, 2), t2.status) == (1.19, 1.91, "paper-error")
    t3 = by_label[("howard2017_mobilenet_v1.yaml", "table3", "rho = 0.714, Mult-Adds (M)")]
    assert round(t3.computed * 1e6) == 15_091_200
    shuffle = [by_label[("zhang2018_shufflenet_v1.yaml", "table1", f"Complexity, g = {g}")]
               for g in (1, 2, 3, 4, 8)]
    assert [round(r.computed * 1e6) for r in shuffle] == [142_502_976, 140_036_512, 136_500_672,
                                                          133_251_776, 136_829_952]
    total = by_label[("iandola2016_squeezenet.yaml", "table1_params", "total")]
    assert total.computed == 1_248_424 and total.status == "match"


def test_tables_load_every_bundled_file() -> None:
    files = {t.file for t in load_tables()}
    assert {"howard2017_mobilenet_v1.yaml", "sandler2018_mobilenet_v2.yaml",
            "zhang2018_shufflenet_v1.yaml", "iandola2016_squeezenet.yaml",
            "lecture_deck.yaml", "torchvision.yaml"} <= files


def test_torchvision_parameter_counts_are_exact(bundled) -> None:
    """num_params is an exact integer: those rows have tolerance 0 and must match, never be
    explained."""
    (params,) = [t for t in bundled.tables if (t.table.file, t.table.id) == ("torchvision.yaml",
                                                                           "params")]
    assert {(r.row.tolerance, r.status) for r in params.results} == {(0, "match")}


# ---------------------------------------------------------------------------------------------
# The command line: stdout by default, --out DIR, --check [DIR], --table ID; statuses


@pytest.fixture
def work(tmp_path: Path, monkeypatch) -> Path:
    """An empty working directory outside any clone, made current."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_cli_prints_the_index_or_one_table_and_writes_nothing(tree, work: Path) -> None:
    papers, docs, _ = tree
    runner = CliRunner()
    index = runner.invoke(main, ["tables", "--papers", str(papers)])
    assert index.exit_code == 0, index.output
    generated = tables.generate(papers)
    assert index.stdout == generated.documents["index.md"]
    one = runner.invoke(main, ["tables", "--table", "test.t2", "--papers", str(papers)])
    assert one.stdout == generated.documents["test.t2.md"]
    assert list(work.iterdir()) == []  # nothing written in the working directory
    bad = runner.invoke(main, ["tables", "--table", "test.t3", "--papers", str(papers)])
    assert bad.exit_code == 1
    assert "--table test.t3: no such table\n  fix: did you mean 'test.t2'?" in bad.stderr
    both = runner.invoke(main, ["tables", "--out", str(docs), "--check", str(docs)])
    assert both.exit_code == 2 and "give one of --table, --out and --check" in both.stderr
    rows = json.loads(runner.invoke(main, ["tables", "--table", "test.t2", "--format", "json",
                                           "--papers", str(papers)]).stdout)
    assert [(r["table"], r["label"]) for r in rows] == [("t2", "fire params")]
    no_files = runner.invoke(main, ["tables", "--out", str(docs), "--format", "json"])
    assert no_files.exit_code == 2 and "writes no files" in no_files.stderr


def test_cli_out_writes_and_counts(tree, tmp_path: Path) -> None:
    papers, _, _ = tree
    out = tmp_path / "fresh"
    r = CliRunner().invoke(main, ["tables", "--out", str(out), "--papers", str(papers)])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith(f"3 files in {out}, 3 changed; 3 rows: 3 match, 0 explained")
    assert tables.check(tables.generate(papers), out) == []


def test_cli_check_without_dir_is_docs_tables_here_or_says_what_to_do(tree, tmp_path: Path,
                                                                      work: Path) -> None:
    papers, docs, _ = tree
    runner = CliRunner()
    missing = runner.invoke(main, ["tables", "--check", "--papers", str(papers)])
    assert missing.exit_code == 1
    assert (f"docs/tables: no such directory (looked in {work / 'docs' / 'tables'})"
            in missing.stderr)
    assert "`costcalc tables --check DIR`" in missing.stderr
    assert "`costcalc tables --out DIR`" in missing.stderr
    assert "missing" not in missing.stderr  # not one line per file
    empty = tmp_path / "empty"
    empty.mkdir()
    none = runner.invoke(main, ["tables", "--check", str(empty), "--papers", str(papers)])
    assert none.exit_code == 1 and "holds none of the generated tables" in none.stderr
    (work / "docs").mkdir()
    docs.rename(work / "docs" / "tables")
    here = runner.invoke(main, ["tables", "--check", "--papers", str(papers)])
    assert here.exit_code == 0, here.output
    assert here.stdout.startswith("ok: 2 tables, docs/tables up to date; 3 rows: 3 match")


STATUS_ROWS = """\
paper: Test paper
tables:
  t1:
    title: "Table 1: statuses"
    rows:
      - {{label: match, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 108, tolerance: 0}}
      - {{label: typo, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 801, tolerance: 0, note: "digits reversed", cause: paper-error,
         expected: 108}}
      - {{label: rounded, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 100, tolerance: 0, note: "to 100", cause: rounding,
         rounded: {{step: 100, mode: floor}}}}
      - {{label: ratio, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 216, tolerance: 0, note: "counted twice", cause: convention,
         expected_ratio: 0.5}}
      - {{label: open, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 150, note: "cause not found", cause: not-reproduced}}
      - {{label: wrong, spec: "{spec}", settings: {{params: paper}}, metric: block.c1.params,
         published: 150, tolerance: 0, note: "a wrong explanation", cause: convention,
         expected: 150}}
"""


def test_each_cause_is_its_own_status_and_shows_tolerance(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "test.yaml").write_text(STATUS_ROWS.format(spec=spec), encoding="utf-8")
    generated = tables.generate(papers)
    assert [r.status for r in generated.tables[0].results] == [
        "match", "paper-error", "rounding", "convention", "not-reproduced", "mismatch"]
    assert generated.summary() == ("6 rows: 1 match, 3 explained (1 paper-error, 1 rounding, "
                                   "1 convention), 1 not-reproduced, 1 mismatch")
    # only the wrong explanation fails; the unexplained row is shown, never counted a success
    (failure,) = generated.mismatches()
    assert "'wrong' is a mismatch (published 150, computed 108)" in failure
    text = generated.documents["test.t1.md"]
    assert "| 801 | 108 | -86.52% | exact | paper-error (expected 108 ± exact) |" in text
    assert "| exact | rounding (floor to 100.0) |" in text
    assert "| exact | convention (expected ratio 0.5 ± exact) |" in text
    assert "| 150 | 108 | -28.00% | 1 % | **not-reproduced** |" in text
    index = generated.documents["index.md"]
    assert "| match | paper-error | rounding | convention | not-reproduced | mismatch |" in index
    assert "| 6 | 1 | 1 | 1 | 1 | 1 | 1 |" in index
    rows = tables.to_json(generated)
    assert [(r["status"], r["cause"]) for r in rows][:2] == [("match", None),
                                                             ("paper-error", "paper-error")]


def test_a_not_reproduced_row_that_matches_fails_the_check(tmp_path: Path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    papers = tmp_path / "papers"
    papers.mkdir()
    (papers / "test.yaml").write_text(papers_text(
        spec, 108, ', note: "not found", cause: not-reproduced'), encoding="utf-8")
    generated = tables.generate(papers)
    assert generated.tables[0].results[0].status == "match"
    (stale,) = generated.mismatches()
    assert "'c1 params' matches (published 108, computed 108) but says `cause: " \
        "not-reproduced`: remove the cause" in stale


def test_bundled_statuses_are_honest(bundled) -> None:
    """Every explained row is checked its cause's way; no not-reproduced row claims a
    prediction; the committed index shows the counts per status."""
    results = [r for t in bundled.tables for r in t.results]
    for r in results:
        if r.status == "rounding":
            assert r.row.prediction.kind == "rounded"
        elif r.status in ("paper-error", "convention"):
            assert r.row.prediction.kind in ("expected", "expected_ratio")
        elif r.status == "not-reproduced":
            assert r.row.prediction is None and r.row.note
    counts = bundled.counts()
    assert counts["mismatch"] == 0 and counts["not-reproduced"] > 0
    assert f"Total: {bundled.summary()}." in bundled.documents["index.md"]
