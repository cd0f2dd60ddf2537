"""Any spec text, however broken, gives a CostcalcError (a located message), never a crash."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc import analyze, build_graph
from costcalc.bundled import bundled_specs
from costcalc.errors import CostcalcError
from costcalc.spec import parse_spec

TEXTS = [p.read_text(encoding="utf-8") for p in bundled_specs()
         if p.stem in {"mobilenet_v2", "squeezenet_v1_0", "resnet", "shufflenet_v2"}]
TOKENS = ["0", "-1", "1.5", "no", "null", "[]", "{}", "'x'", "depthwise", "same", "[1, 2, 3]",
          "c_in*0", "1e9", "true", "{a: 1}", "-", "conv", "add", "inputs: [input]", "\n", "::",
          ":", "9999999999", "1/0", "!!int x", "!tag 3", "&a", "*a", "'", "\"", "#", ".nan",
          ".inf", "'(9**64)**64'", "'10**9'", "1000000000", "[1]", "'[/]'", "!!omap", "0.0"]


@st.composite
def mutated_spec(draw) -> str:
    lines = draw(st.sampled_from(TEXTS)).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        j = draw(st.integers(0, len(lines) - 1))
        words = lines[j].split(" ")
        words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(TOKENS))
        lines[j] = " ".join(words)
    return "\n".join(lines)


# The long run: COSTCALC_FUZZ_EXAMPLES=2000 pytest tests/test_robustness.py (see test_fuzz.py).
@settings(max_examples=int(os.environ.get("COSTCALC_FUZZ_EXAMPLES", "150")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(text=mutated_spec())
def test_broken_specs_fail_cleanly(text: str) -> None:
    try:
        analyze(build_graph(parse_spec(text, "fuzz.yaml")))
    except CostcalcError as exc:
        assert str(exc).strip()
