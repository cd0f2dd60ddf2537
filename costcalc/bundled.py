"""The bundled specs: where they are installed, and how a name on the command line finds one."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import CostcalcError, did_you_mean


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


_WHAT = {"networks": ("spec", "costcalc list"), "hardware": ("profile", "costcalc list --hardware")}


def resolve(ref: str | Path, kind: str = "networks") -> Path:
    """A path that exists is used as a path; otherwise the name of a bundled file of `kind`
    (networks: a spec, hardware: a profile)."""
    path = Path(ref)
    if path.is_file():
        return path
    if path.exists():
        raise CostcalcError(f"{ref}: not a file")
    bare = path.parent == Path(".")
    stem = path.name.removesuffix(".yaml")
    folder = bundled_dir(kind)
    if bare and (folder / f"{stem}.yaml").is_file():
        return folder / f"{stem}.yaml"
    if not bare:
        raise CostcalcError(f"{ref}: no such file", "check the path")
    what, command = _WHAT[kind]
    names = [p.stem for p in sorted(folder.glob("*.yaml"))]
    fix = did_you_mean(stem, names, f"run `{command}` for the bundled {what}s")
    raise CostcalcError(f"{ref}: no such file, and no bundled {what} of that name", fix)
