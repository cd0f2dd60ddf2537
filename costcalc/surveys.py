"""Surveys: computed tables over several networks and settings, regenerated like the paper
tables (`costcalc tables` writes them, `--check` fails when one is stale).

A survey file (`specs/surveys/*.yaml`) names networks, a list of settings (one table each), the
columns (paths into a report's JSON, as papers rows use) and claims. A claim compares one metric
of two networks under every setting and states whether `a / b` meets a bound, so what the
document concludes is computed, never written by hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bundled import bundled_dir
from .errors import CostcalcError, Problem, SpecError, did_you_mean
from .papers import GENERATED, SETTING_KEYS, Evaluator, lookup
from .yamlnodes import Node, parse_yaml, plain

SURVEY_KEYS = {"title", "description", "networks", "settings", "columns", "claims"}
CLAIM_KEYS = {"label", "a", "b", "metric", "at_least", "below"}
HEADER = GENERATED + "specs/surveys/{file}. Do not edit: edit the data and regenerate. -->"


@dataclass(frozen=True, slots=True)
class Network:
    label: str
    spec: str
    settings: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Column:
    label: str
    metric: str  # a path into the report's JSON (papers.lookup)
    unit: str  # how to write it: params (never per image), count, energy


@dataclass(frozen=True, slots=True)
class Claim:
    label: str
    a: str  # network labels
    b: str
    metric: str
    at_least: float | None  # the claim holds when a / b >= at_least (or < below)
    below: float | None


@dataclass(frozen=True, slots=True)
class Survey:
    id: str
    file: str
    title: str
    description: str
    networks: tuple[Network, ...]
    settings: tuple[tuple[str, Mapping[str, Any]], ...]  # (label, settings)
    columns: tuple[Column, ...]
    claims: tuple[Claim, ...]

    @property
    def filename(self) -> str:
        return f"survey.{self.id}.md"


def default_surveys_dir() -> Path:
    return bundled_dir("surveys")


def load_surveys(directory: Path | None = None) -> list[Survey]:
    folder = directory if directory is not None else default_surveys_dir()
    out = []
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        out.append(_read(parse_yaml(path.read_text(encoding="utf-8"), path.name), path))
    return out


def _read(root: Node, path: Path) -> Survey:
    file, problems = path.name, []
    top = root.value if isinstance(root.value, dict) else {}
    for key, node in top.items():
        if key not in SURVEY_KEYS:
            problems.append(Problem(file, node.line, f"survey: unknown field '{key}'",
                                    did_you_mean(key, SURVEY_KEYS)))
    for key in ("title", "networks", "settings", "columns"):
        if key not in top:
            problems.append(Problem(file, 1, f"survey: missing '{key}'"))
    if problems:
        raise SpecError(problems)
    data = plain(root)
    networks = tuple(Network(n["label"], n["spec"], n.get("settings", {}))
                     for n in data["networks"])
    settings = tuple((s["label"], {k: v for k, v in s.items() if k != "label"})
                     for s in data["settings"])
    for label, given in settings:
        if unknown := set(given) - SETTING_KEYS:
            raise CostcalcError(f"{file}: settings '{label}': unknown {sorted(unknown)}",
                                "use analyze's arguments: " + ", ".join(sorted(SETTING_KEYS)))
    claims = []
    for c in data.get("claims", []):
        if unknown := set(c) - CLAIM_KEYS:
            raise CostcalcError(f"{file}: claim '{c.get('label')}': unknown {sorted(unknown)}")
        claims.append(Claim(c["label"], c["a"], c["b"], c["metric"], c.get("at_least"),
                            c.get("below")))
    return Survey(path.stem, file, data["title"], " ".join(str(data.get("description",
                                                                        "")).split()),
                  networks, settings, tuple(Column(c["label"], c["metric"], c["unit"])
                                            for c in data["columns"]), tuple(claims))


def _value(evaluator: Evaluator, network: Network, settings: Mapping[str, Any],
           metric: str) -> Any:
    return lookup(evaluator.report(network.spec, {**network.settings, **settings}), metric)


def _cell(value: Any, unit: str, per: int) -> str:
    """Counts exactly; energy in millions of the profile's unit (pJ: uJ), three decimals;
    `params` does not scale with the batch, everything else is divided back per image."""
    if unit == "params":
        return f"{value:,}"
    if unit == "energy":
        return f"{value / per / 1e6:,.3f}"
    return f"{value // per:,}" if isinstance(value, int) else f"{value / per:,.3f}"


def render(survey: Survey, evaluator: Evaluator | None = None) -> str:
    """The survey's Markdown: one table per setting (values per image), then the claims."""
    evaluator = evaluator or Evaluator()
    by_label = {n.label: n for n in survey.networks}
    lines = [HEADER.format(file=survey.file), "", f"# {survey.title}", ""]
    if survey.description:
        lines += [survey.description, ""]
    for label, settings in survey.settings:
        per = int(settings.get("batch", 1))
        first = evaluator.report(survey.networks[0].spec, {**survey.networks[0].settings,
                                                           **settings})
        unit = first["notes"].get("energy_unit", "")
        energy = {"pJ": "energy in uJ (10^6 pJ)", "MAC": "energy in 10^6 MAC-energies (one "
                  "16-bit MAC = 1)"}.get(unit, "")
        lines += [f"## {label}", "", "Values per image" + (f" (the batch's over {per})"
                                                         if per > 1 else "")
                  + (f"; {energy}" if energy else "") + ".", "",
                  f"Assumptions: {first['notes']['hardware']}."
                  if "hardware" in first["notes"] else "", "",
                  "| network | " + " | ".join(c.label for c in survey.columns) + " |",
                  "|---|" + "---:|" * len(survey.columns)]
        for network in survey.networks:
            cells = [_cell(_value(evaluator, network, settings, c.metric), c.unit, per)
                     for c in survey.columns]
            lines.append(f"| {network.label} | " + " | ".join(cells) + " |")
        lines.append("")
    for claim in survey.claims:
        bound = f"a / b >= {claim.at_least:g}" if claim.at_least is not None else \
            f"a / b < {claim.below:g}"
        lines += [f"## Claim: {claim.label}", "",
                  f"a = {claim.a}, b = {claim.b}, metric `{claim.metric}`; the claim holds "
                  f"where {bound}.", "", "| setting | a / b | holds |", "|---|---:|---|"]
        for label, settings in survey.settings:
            if claim.a not in by_label or claim.b not in by_label:
                raise CostcalcError(f"{survey.file}: claim '{claim.label}' names a network "
                                    "the survey does not list")
            a = _value(evaluator, by_label[claim.a], settings, claim.metric)
            b = _value(evaluator, by_label[claim.b], settings, claim.metric)
            ratio = a / b if b else math.inf
            holds = ratio >= claim.at_least if claim.at_least is not None else \
                ratio < (claim.below if claim.below is not None else math.inf)
            lines.append(f"| {label} | {ratio:.3f} | {'yes' if holds else 'no'} |")
        lines.append("")
    return "\n".join(lines)
