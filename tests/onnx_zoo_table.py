"""The ONNX zoo check as a table: `python tests/onnx_zoo_table.py [--fold-bn] [SPEC ...]`
(from the repository root; default: every bundled spec). Each row is
tests/test_onnx.py's `zoo_row`, the same checks `pytest tests/test_onnx.py --onnx-zoo` asserts:
export, onnxruntime shapes and initializer counts, import round trip (and with --fold-bn the
folded graph's outputs against the unfolded one's). Prints Markdown; exits 1 if a row fails."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import test_onnx  # noqa: E402  (tests/ is not a package)


def main(argv: list[str]) -> int:
    fold_bn = "--fold-bn" in argv
    names = [a for a in argv if not a.startswith("--")] or test_onnx.ZOO
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            rows.append(test_onnx.zoo_row(name, Path(tmp), fold_bn=fold_bn,
                                          **test_onnx.ZOO_SETTINGS.get(name, {})))
            print(f"{name} done", file=sys.stderr)
    columns = list(rows[0])
    show = {True: "yes", False: "**no**"}
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(show.get(row[c], str(row[c])) if isinstance(row[c], bool)
                                else str(row[c]) for c in columns) + " |")
    failed = [r["spec"] for r in rows if any(v is False for v in r.values())
              or r.get("BN after conv/fc left")]
    print(f"\n{len(rows)} specs, {len(rows) - len(failed)} with every check passing"
          + (f"; failing: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
