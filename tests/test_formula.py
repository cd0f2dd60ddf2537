"""`costcalc formula`: closed forms evaluated at the user's numbers and counted in the engine."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from costcalc import analyze
from costcalc.cli import main
from costcalc.errors import CostcalcError
from costcalc.formula import FORMULAS, evaluate_formula


def values(name: str, **args) -> tuple[dict, dict, dict]:
    result = evaluate_formula(name, args)
    data = result.to_dict()
    return data["closed"], data["graph"], {c.key: c.agree for c in result.checks}


@pytest.mark.parametrize("name", list(FORMULAS))
def test_every_formula_agrees_with_the_graph_at_defaults(name: str) -> None:
    """Every check agrees, except those the formula's data marks as a document's expression
    that never equals its count (the finding)."""
    formula, result = FORMULAS[name], evaluate_formula(name)
    expected = {q.key: not q.disagrees for q in formula.quantities}
    assert {c.key: c.agree for c in result.checks} == expected
    assert result.agree == all(expected.values())
    assert result.findings


def test_only_the_lowrank_notes_ratio_is_expected_to_disagree() -> None:
    marked = [(name, q.key) for name, f in FORMULAS.items() for q in f.quantities
              if q.disagrees]
    assert marked == [("lowrank", "stated_ratio")]


def test_formula_networks_are_built_without_the_spec_parser(monkeypatch) -> None:
    import costcalc.report
    import costcalc.spec

    def refuse(*args, **kwargs):
        raise AssertionError("formula networks must not go through the spec parser")

    for module, attr in [(costcalc.spec, "parse_spec"), (costcalc.spec, "load_spec"),
                         (costcalc.report, "load_spec"), (costcalc.report, "build_graph")]:
        monkeypatch.setattr(module, attr, refuse)
    for name in FORMULAS:
        assert evaluate_formula(name).checks


def test_separable_reproduces_mobilenet_table3() -> None:
    closed, graph, _ = values("separable")
    assert (graph["std_macs"], graph["std_params"]) == (462_422_016, 2_359_296)
    assert (graph["sep_macs"], graph["sep_params"]) == (52_283_392, 266_752)
    assert graph["macs_ratio"] == pytest.approx(1 / 512 + 1 / 9, rel=1e-12)
    _, graph, _ = values("separable", alpha=0.75)
    assert (graph["sep_macs"], graph["sep_params"]) == (29_578_752, 150_912)
    _, graph, agree = values("separable", alpha=0.75, rho=0.714)
    assert (graph["sep_macs"], graph["sep_params"]) == (15_091_200, 150_912)
    assert all(agree.values())


def test_flattened_expression_is_the_ratio_only_with_same_padding() -> None:
    closed, graph, agree = values("flattened")
    assert (graph["std_params"], graph["flat_params"]) == (36_864, 4_480)
    assert closed["params_ratio"] == pytest.approx(4_480 / 36_864)
    assert agree == {k: True for k in agree}
    _, graph, agree = values("flattened", same=0)
    assert agree["params_ratio"] and not agree["macs_ratio"]
    assert graph["macs_ratio"] > closed["macs_ratio"]


@pytest.mark.parametrize(("m", "n", "k"), [(256, 256, 32), (512, 256, 100), (64, 1024, 8),
                                           (100, 100, 60)])
def test_lowrank_notes_never_equal_the_exact_ratio(m: int, n: int, k: int) -> None:
    closed, graph, agree = values("lowrank", m=m, n=n, k=k)
    assert (graph["full_macs"], graph["low_macs"]) == (m * n, k * (m + n))
    assert agree["exact_ratio"] and not agree["stated_ratio"]
    # the notes' 2k/(m+n) is checked against the counted ratio, which k(m+n)/(mn) equals
    assert graph["stated_ratio"] == graph["exact_ratio"] == (k * (m + n)) / (m * n)
    assert closed["exact_ratio"] == pytest.approx(graph["exact_ratio"], rel=1e-12)
    assert closed["stated_ratio"] / graph["exact_ratio"] == pytest.approx(2 * m * n / (m + n) ** 2)
    assert closed["stated_ratio"] <= graph["exact_ratio"] / 2 + 1e-12


def test_lowrank_break_even_finding() -> None:
    findings = evaluate_formula("lowrank", {"m": 100, "n": 100, "k": 60}).findings
    assert "k < mn/(m+n) = 50.00" in findings[-1]
    assert "at k = 60 the factored product costs more" in findings[-1]


def test_spatial_factorizations() -> None:
    _, graph, agree = values("asymmetric")
    assert (graph["full_params"], graph["fact_params"]) == (36_864, 24_576)  # 33 % fewer
    assert graph["saving"] == pytest.approx(1 / 3) and all(agree.values())
    _, graph, agree = values("stacked3x3")
    assert (graph["full_params"], graph["stack_params"]) == (102_400, 73_728)
    assert graph["saving"] == pytest.approx(0.28) and all(agree.values())
    _, graph, _ = values("stacked3x3", k=7)
    assert graph["saving"] == pytest.approx(1 - 27 / 49)


def test_shufflenet_unit_complexities() -> None:
    closed, graph, agree = values("shufflenet_unit")
    assert graph == {"resnet": 47_980_800, "resnext": 31_046_400, "shufflenet": 7_949_760}
    assert all(agree.values())
    _, graph, agree = values("shufflenet_unit", g=8, c=384, m=96)
    assert graph["shufflenet"] == 28 * 28 * (2 * 384 * 96 // 8 + 9 * 96) and all(agree.values())


def test_shufflenet_v2_mac_and_its_bound() -> None:
    _, graph, _ = values("shufflenet_v2_mac")
    assert (graph["flops"], graph["mac"]) == (51_380_224, 819_200)
    assert graph["mac"] == pytest.approx(graph["bound"])  # c1 == c2 reaches the bound
    closed, graph, agree = values("shufflenet_v2_mac", c1=64, c2=256)
    assert graph["mac"] == 56 * 56 * (64 + 256) + 64 * 256 and all(agree.values())
    assert graph["mac"] > graph["bound"]


def test_fire_equals_squeezenet_fire2() -> None:
    _, graph, agree = values("fire")
    report = analyze("squeezenet_v1_0", params="paper")
    fire2 = sum(r.params for r in report.layers if r.name.startswith("fire2."))
    assert graph["params"] == fire2 == 11_920 and all(agree.values())
    _, graph, agree = values("fire", cin=128, e=256, sr=0.25, pct=0.75)
    assert graph["params"] == 128 * 64 + 64 * 64 + 9 * 64 * 192 + 64 + 64 + 192
    assert all(agree.values())


def test_errors() -> None:
    with pytest.raises(CostcalcError, match="(?s)unknown formula .seperable.*did you mean "
                                            "'separable'"):
        evaluate_formula("seperable")
    with pytest.raises(CostcalcError, match="(?s)unknown formula 'nope'.*allowed: asymmetric"):
        evaluate_formula("nope")
    # the ops are checked against the spec schema: the same words as for a spec
    with pytest.raises(CostcalcError, match="'A': 'out' must be at least 1, got 0"):
        evaluate_formula("lowrank", {"m": 0})
    with pytest.raises(CostcalcError, match="'conv': 'kernel': expected an integer, got float "
                                            "2.5"):
        evaluate_formula("asymmetric", {"n": 2.5})
    with pytest.raises(CostcalcError, match="formula 'separable' at rho=0: layer 'input': "
                                            "'height' must be at least 1, got 0"):
        evaluate_formula("separable", {"rho": 0})  # the user's argument, not a pseudo-file
    with pytest.raises(CostcalcError, match="unknown argument 'q'"):
        evaluate_formula("lowrank", {"q": 1})
    with pytest.raises(CostcalcError, match="must be a non-negative number"):
        evaluate_formula("lowrank", {"m": -1})
    with pytest.raises(CostcalcError, match="not divisible by groups"):
        evaluate_formula("shufflenet_unit", {"m": 61})


def test_cli_list_and_evaluate() -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["formula", "--list"])
    assert listing.exit_code == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()
            if not line.startswith(" ")] == list(FORMULAS)
    out = runner.invoke(main, ["formula", "separable", "alpha=0.75", "rho=0.714"])
    assert out.exit_code == 0, out.output
    assert "15,091,200" in out.stdout and "all agree with the graph count" in out.stdout
    low = runner.invoke(main, ["formula", "lowrank"])
    assert low.exit_code == 0 and "NO" in low.stdout and "finding:" in low.stdout
    data = json.loads(runner.invoke(main, ["formula", "fire", "--format", "json"]).stdout)
    assert data["graph"]["params"] == 11_920
    bad = runner.invoke(main, ["formula", "lowrank", "m"])
    assert bad.exit_code == 2
    unknown = runner.invoke(main, ["formula", "nope"])
    assert unknown.exit_code == 1 and "unknown formula 'nope'" in unknown.stderr
