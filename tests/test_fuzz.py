"""Fuzzing (issue 12): random valid specs keep the cost model's invariants, and random damage
to valid specs or arbitrary YAML gives a result or a CostcalcError, never another exception.

The default run is the fast CI profile. For the long run, raise the example count:

    COSTCALC_FUZZ_EXAMPLES=2000 pytest -q tests/test_fuzz.py tests/test_robustness.py

(docs/limits.md records the last long run.) Hardware profiles are fuzzed the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costcalc import analyze, build_graph, parse_spec
from costcalc.errors import CostcalcError
from costcalc.shapes import shape_graph

EXAMPLES = int(os.environ.get("COSTCALC_FUZZ_EXAMPLES", "40"))
LONG = "COSTCALC_FUZZ_EXAMPLES" in os.environ
FUZZ = settings(max_examples=EXAMPLES, deadline=2000 if LONG else None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# -- random valid specs -----------------------------------------------------------------------

@dataclass
class Net:
    """A generated spec as text pieces, so that it can be rendered with variations."""

    channels: int
    size: int
    lines: list[str]  # layer entries; @P@ stands for the name prefix
    grouped: dict[str, int]  # layer name (without prefix) -> its groups, for the 1/g check
    blocks: str

    def text(self, prefix: str = "l", dense: bool = False) -> str:
        lines = [line.replace("@P@", prefix) for line in self.lines]
        for name, g in self.grouped.items():
            lines = [line.replace(f"@G{name}@", "1" if dense else str(g)) for line in lines]
        return (f"version: 1\nname: Fuzz\ninput: {{channels: {self.channels}, size: "
                f"{self.size}}}\n{self.blocks}layers:\n" + "".join(f"  - {line}\n"
                                                                   for line in lines))


BLOCKS = """blocks:
  res:
    args: {c: null}
    layers:
      - conv: {out: c, kernel: 3, pad: 1}
      - batchnorm: {}
      - act: {fn: relu}
      - conv: {out: c, kernel: 1}
    residual: c_in == c
  bottleneck:
    args: {t: 2, c: null, s: 1}
    repeat: {s: 1}
    layers:
      - conv: {out: c_in * t, kernel: 1, when: t != 1}
      - conv: {kernel: 3, pad: 1, stride: s, groups: depthwise}
      - conv: {out: c, kernel: 1}
    residual: s == 1 and c_in == c
"""


@st.composite
def nets(draw) -> Net:
    channels = draw(st.sampled_from([3, 4, 8, 16]))
    size = draw(st.sampled_from([8, 12, 16, 32]))
    c, h = channels, size
    lines: list[str] = []
    grouped: dict[str, int] = {}
    for i in range(draw(st.integers(1, 8))):
        name = f"{i}"
        kind = draw(st.sampled_from(["conv", "grouped", "depthwise", "act", "parallel",
                                     "residual", "bottleneck", "pool"]))
        if kind == "conv":
            out, k = draw(st.sampled_from([4, 8, 16, 24])), draw(st.sampled_from([1, 3]))
            lines.append(f"conv: {{name: @P@{name}, out: {out}, kernel: {k}, pad: {k // 2}}}")
            c = out
        elif kind == "grouped":
            g = draw(st.sampled_from([g for g in (2, 4, 8) if c % g == 0] or [1]))
            out = g * draw(st.integers(1, 4))
            lines.append(f"conv: {{name: @P@{name}, out: {out}, kernel: 3, pad: 1, "
                         f"groups: @G{name}@}}")
            grouped[name] = g
            c = out
        elif kind == "depthwise":
            lines.append(f"conv: {{name: @P@{name}, kernel: 3, pad: 1, groups: depthwise}}")
        elif kind == "act":
            fn = draw(st.sampled_from(["relu", "relu6", "hswish", "sigmoid"]))
            lines.append(f"act: {{name: @P@{name}, fn: {fn}}}")
        elif kind == "parallel":
            merge = draw(st.sampled_from(["concat", "add"]))
            outs = [c if merge == "add" else draw(st.sampled_from([2, 4, 8]))
                    for _ in range(draw(st.integers(2 if merge == "add" else 1, 3)))]
            branches = ", ".join(f"[conv: {{out: {o}, kernel: {k}, pad: {k // 2}}}]"
                                 for o, k in ((o, draw(st.sampled_from([1, 3]))) for o in outs))
            lines.append(f"parallel: {{name: @P@{name}, merge: {merge}, branches: "
                         f"[{branches}]}}")
            c = c if merge == "add" else sum(outs)
        elif kind == "residual":
            same = draw(st.booleans())
            out = c if same else draw(st.sampled_from([4, 8, 16]))
            lines.append(f"res: {{name: @P@{name}, c: {out}, n: {draw(st.integers(1, 3))}}}")
            c = out
        elif kind == "bottleneck":
            out, t = draw(st.sampled_from([8, 16])), draw(st.sampled_from([1, 2, 6]))
            s = draw(st.sampled_from([1, 2])) if h >= 4 else 1
            lines.append(f"bottleneck: {{name: @P@{name}, t: {t}, c: {out}, s: {s}, "
                         f"n: {draw(st.integers(1, 3))}}}")
            h = -(-h // s)  # 'pad 1, kernel 3' with stride s: ceil(h / s)
            c = out
        elif h >= 4:
            lines.append(f"pool: {{name: @P@{name}, op: max, kernel: 2, stride: 2}}")
            h //= 2
    if draw(st.booleans()):
        lines += ["pool: {name: @P@gap, op: avg, global: true}",
                  f"fc: {{name: @P@fc, out: {draw(st.integers(1, 20))}, bias: true}}"]
    return Net(channels, size, lines, grouped, BLOCKS)


def run(text: str, **settings):
    return analyze(build_graph(parse_spec(text, "fuzz.yaml")), **settings)


@FUZZ
@given(net=nets(), batch=st.integers(2, 5))
def test_random_valid_specs_keep_the_invariants(net: Net, batch: int) -> None:
    text = net.text()
    r = run(text)
    totals = r.totals
    for key in ("macs", "params", "activations", "weights", "biases"):
        assert sum(row.values[key] for row in r.layers) == totals.values[key], key
    assert totals.flops >= 2 * totals.macs
    # batch: params fixed, MACs and activations exactly linear
    rb = run(text, batch=batch)
    assert rb.totals.params == totals.params
    assert rb.totals.macs == batch * totals.macs
    assert rb.totals.activations == batch * totals.activations
    # resolution: params fixed (every fc here reads a global pool)
    rr = run(text, resolution=net.size * 2)
    assert [row.params for row in rr.layers] == [row.params for row in r.layers]
    assert rr.totals.macs >= totals.macs
    # memory: sum of outputs >= peak live >= every (not in-place) layer's inputs + output
    (shaped,) = shape_graph(build_graph(parse_spec(text)))
    nbytes = 4  # fp32
    largest = max(
        (sum(shaped.shapes[src].numel for src in layer.inputs) + shaped.shapes[layer.name].numel)
        * nbytes for layer in shaped.graph.layers if not layer.op.inplace)
    assert totals.activation_bytes >= totals.peak_activation_bytes >= largest
    # renaming every named layer changes no count
    renamed = run(net.text(prefix="renamed_"))
    assert renamed.totals.values == totals.values
    assert [row.name.replace("renamed_", "l", 1) for row in renamed.layers] == \
        [row.name for row in r.layers]


@FUZZ
@given(net=nets())
def test_a_grouped_conv_costs_one_gth_of_the_dense_one(net: Net) -> None:
    grouped, dense = run(net.text()), run(net.text(dense=True))
    rows = {row.name: row for row in dense.layers}
    for row in grouped.layers:
        g = net.grouped.get(row.name.removeprefix("l"))
        if g is not None:
            assert row.macs * g == rows[row.name].macs
            assert row.values["weights"] * g == rows[row.name].values["weights"]


# -- damage: mutated specs and arbitrary YAML ------------------------------------------------

TOKENS = ["0", "-1", "1.5", ".nan", ".inf", "true", "null", "[]", "{}", "[1]", "[1, 2, 3]",
          "depthwise", "same", "'10**9'", "'(9**64)**64'", "'c_in * 0'", "1000000000", "'x'",
          "*a", "&a", "!!str", "'", "{", "]", ":", "- ", "#", "'[/]'", "1e309", "9" * 120]


@FUZZ
@given(net=nets(), data=st.data())
def test_mutated_valid_specs_succeed_or_fail_cleanly(net: Net, data) -> None:
    lines = net.text().split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        j = data.draw(st.integers(0, len(lines) - 1))
        words = lines[j].split(" ")
        k = data.draw(st.integers(0, len(words) - 1))
        words[k] = data.draw(st.sampled_from(TOKENS + [w for w in words if w]))
        lines[j] = " ".join(words)
    try:
        run("\n".join(lines))
    except CostcalcError as exc:
        assert str(exc).strip()


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**30, 10**30),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(alphabet="abcxyz_019 .,:;[]{}/*&!#-+()'\"é€", max_size=12),
                    st.sampled_from(["conv", "fc", "pool", "layers", "input", "c_in * 2",
                                     "depthwise", "relu", "parallel", "branches"]))
KEYS = st.sampled_from(["version", "name", "input", "layers", "blocks", "args", "width",
                        "conv", "fc", "pool", "out", "kernel", "n", "when", "inputs",
                        "parallel", "branches", "residual", "channels", "size", "pad",
                        "groups", "variants", "defaults"])
DOCS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)), max_leaves=25)


@FUZZ
@given(doc=st.dictionaries(KEYS, DOCS, max_size=6))
def test_arbitrary_yaml_succeeds_or_fails_cleanly(doc) -> None:
    text = yaml.safe_dump({"version": 1, "name": "F", **doc}, sort_keys=False)
    try:
        run(text)
    except CostcalcError as exc:
        assert str(exc).strip()


# -- hardware profiles: the bundled ones damaged, and arbitrary documents ----------------------

PROFILE_KEYS = st.sampled_from(["version", "name", "unit", "compute", "memory", "defaults",
                                "scaling", "peak_macs_per_s", "bandwidth_bytes_per_s",
                                "efficiency", "int_add", "int_mult", "float_mac", "dram",
                                "sram", "rf", "energy", "bits", "capacity", "rf_per_mac",
                                "conv kxk", "depthwise", "fc", "8", "32"])
PROFILE_DOCS = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(PROFILE_KEYS, inner, max_size=4)),
    max_leaves=25)


def use_profile(text: str) -> None:
    """Load a profile and price a small network with every part it has; only a
    CostcalcError may come out."""
    from costcalc.deployment import device_roofline
    from costcalc.hardware import _Reader, make_hardware
    from costcalc.yamlnodes import parse_yaml

    try:
        profile = _Reader("fuzz.yaml").profile(parse_yaml(text, "fuzz.yaml"))
        if profile.has_energy:
            analyze("cifar10_micro", dtype="int8", hardware=make_hardware(profile))
        if profile.peak_macs_per_s is not None:
            device = device_roofline(None, profile.peak_macs_per_s,
                                     profile.bandwidth_bytes_per_s)
            from dataclasses import replace

            device = replace(device, by_type=tuple((profile.efficiency or {}).items()))
            analyze("cifar10_micro", latency=device)
    except CostcalcError as exc:
        assert str(exc).strip()


def _bundled_profile_texts() -> list[str]:
    from costcalc.hardware import bundled_profiles

    return [path.read_text(encoding="utf-8") for path in bundled_profiles()]


@FUZZ
@given(data=st.data())
def test_mutated_bundled_profiles_load_or_fail_cleanly(data) -> None:
    lines = data.draw(st.sampled_from(_bundled_profile_texts())).split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        j = data.draw(st.integers(0, len(lines) - 1))
        words = lines[j].split(" ")
        k = data.draw(st.integers(0, len(words) - 1))
        words[k] = data.draw(st.sampled_from(TOKENS + ["1e12", "-2e9", "'fast'", "0.5"]
                                             + [w for w in words if w]))
        lines[j] = " ".join(words)
    use_profile("\n".join(lines))


@FUZZ
@given(doc=st.dictionaries(PROFILE_KEYS, PROFILE_DOCS, max_size=6))
def test_arbitrary_profiles_load_or_fail_cleanly(doc) -> None:
    use_profile(yaml.safe_dump({"version": 1, "name": "F", **doc}, sort_keys=False))
