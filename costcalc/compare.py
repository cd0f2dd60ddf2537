"""Comparisons: several networks (or one at several settings) side by side, and budgets.

An entry is a spec with its own settings, `mobilenet_v2:width=0.75,resolution=160`: `width`,
`resolution` (224 or HxW), `batch`, `variant`, `dtype`, `weight_dtype`, `act_dtype` and `params`
are settings, any other key is a spec argument. Settings shared by every entry (`compare`'s
keyword arguments, the command's options) fill in what an entry does not give, key by key and
spec argument by spec argument: the entry's own value wins (`with_shared`). A `paper=` entry's
configuration is its table's: it takes only the shared counting settings (batch, dtypes,
params convention).
A budget (`macs=300e6`) replaces each entry's width (or resolution) by the largest value within
it, found by evaluating every candidate exactly through the vectorized sweep: widths
0.01, 0.02, ... 4.00 (two decimals) or resolutions 8, 9, ... 1024 (every pixel); where the
network is invalid at the largest candidate (the sweep's int64 bound is counted there), the
upper half of the candidates is dropped until it is valid. Invalid candidates are skipped.
Nothing assumes the cost is monotone: the largest candidate that fits is the answer.

Published accuracy: where a papers table (`specs/papers/*.yaml`, a row's `accuracy:`) gives the
ImageNet top-1 of exactly a column's configuration (`papers.configuration`: the spec, its width,
input size and resolved arguments; the fitted width under a budget), the column carries it,
with every table that prints it (the first in data order is shown, or the `paper` table's).
The accuracy front is MobileNet v1 Table 8's and MobileNetV2 Figure 5's reading: the columns
with a published top-1 that no other beats on both MACs per image (lower) and top-1 (higher),
`sweep.pareto_front` over (MACs, -top-1). A column without a published figure is not on it.
`paper="FILE:TABLE"` (`howard2017_mobilenet_v1:table8`) adds a column for every configuration
that table gives an accuracy for, in its row order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .errors import CostcalcError, capped, did_you_mean
from .metrics import Settings
from .papers import Accuracy, PaperTable, Row, configuration, load_tables
from .report import METRICS, Report, analyze, check_metric_keys
from .spec import Spec, load_spec
from .sweep import DEFAULT_KEYS, LargestInvalid, pareto_front, parse_values, sweep

# an entry's settings: what selects the network, and what its counts are computed at (the
# counting settings are not part of a configuration: papers.configuration)
CONFIGURATION = ("width", "resolution", "variant")
COUNTING = ("batch", "dtype", "weight_dtype", "act_dtype", "params")
SETTINGS = (*CONFIGURATION, *COUNTING)
TEXT_SETTINGS = ("variant", "dtype", "weight_dtype", "act_dtype", "params")
WIDTHS = tuple(k / 100 for k in range(1, 401))
RESOLUTIONS = tuple(range(8, 1025))
VARY = ("width", "resolution")


@dataclass(frozen=True, slots=True)
class Entry:
    """One column of a comparison: a spec and its settings, as written (None: not given,
    the shared setting or the default applies)."""

    text: str
    spec: str
    width: float | None = None
    resolution: int | tuple[int, int] | None = None
    batch: int | None = None
    variant: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)  # spec arguments
    paper: str = ""  # FILE:TABLE when the entry is one of that table's configurations
    dtype: str | None = None
    weight_dtype: str | None = None
    act_dtype: str | None = None
    params: str | None = None

    def settings(self, width: float | None = None,
                 resolution: int | tuple[int, int] | None = None) -> dict[str, Any]:
        """The entry's configuration as a papers row writes it (width/resolution: fitted)."""
        return {"variant": self.variant, "width": self.width if width is None else width,
                "resolution": self.resolution if resolution is None else resolution,
                "args": dict(self.args)}


def parse_entry(text: str) -> Entry:
    """`SPEC` or `SPEC:key=value,key=value` (a TEXT_SETTINGS value is a name, HxW a
    resolution, anything else a number)."""
    spec, _, rest = text.partition(":")
    values: dict[str, Any] = {}
    args: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise CostcalcError(f"'{text}': '{item}' is not key=value",
                                "e.g. mobilenet_v2:width=0.75,resolution=160")
        if key in TEXT_SETTINGS:
            values[key] = value
        elif key == "resolution" and "x" in value:
            h, _, w = value.partition("x")
            values[key] = (parse_values(h, text, True)[0], parse_values(w, text, True)[0])
        else:
            (number,) = parse_values(value, f"'{text}': {key}", key in ("resolution", "batch"))
            (values if key in SETTINGS else args)[key] = number
    return Entry(text, spec, values.get("width"), values.get("resolution"),
                 values.get("batch"), values.get("variant"), args,
                 **{k: values.get(k) for k in ("dtype", "weight_dtype", "act_dtype", "params")})


def with_shared(entry: Entry, shared: Mapping[str, Any]) -> Entry:
    """The entry with the shared settings (SETTINGS keys and `args`) filling in what it does
    not give: its own value wins, key by key and spec argument by spec argument. The merged
    entry is what `costcalc report` computes with those options (so a shared width overrides
    an entry's variant's width, as --width does a --variant's). A --paper entry keeps its
    table's configuration and takes only the COUNTING settings."""
    keys = COUNTING if entry.paper else SETTINGS
    filled = {k: shared[k] for k in keys
              if getattr(entry, k) is None and shared.get(k) is not None}
    args = entry.args if entry.paper else {**(shared.get("args") or {}), **entry.args}
    return replace(entry, **filled, args=args)


def _check_counting(values: Mapping[str, Any], where: Callable[[str], str]) -> None:
    """The COUNTING values given, each checked as Settings checks it; an error says where the
    value was given (`where(key)`: an option, or an entry and its key)."""
    for key in COUNTING:
        if values.get(key) is not None:
            try:
                Settings(**{key: values[key]})
            except CostcalcError as exc:
                raise CostcalcError(f"{where(key)}: {exc.what}", exc.fix) from None


def parse_budget(items: Sequence[str]) -> dict[str, float]:
    """`macs=300e6`, `params=3e6`: a metric's largest allowed total."""
    known = [m.key for m in METRICS]
    budget: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if key not in known:
            raise CostcalcError(f"--budget: unknown metric '{key}'", did_you_mean(key, known))
        try:
            budget[key] = float(value)
        except ValueError:
            raise CostcalcError(f"--budget '{item}': use METRIC=NUMBER",
                                "e.g. --budget macs=300e6") from None
        if not sep or not np.isfinite(budget[key]) or budget[key] < 0:
            raise CostcalcError(f"--budget '{item}': use METRIC=NUMBER (a non-negative number)")
    return budget


@dataclass(frozen=True, slots=True)
class Published:
    """A configuration's accuracy as one papers table prints it."""

    accuracy: Accuracy
    table: PaperTable
    row: Row

    @property
    def ref(self) -> str:
        """FILE:TABLE, as `--paper` takes it."""
        return table_ref(self.table)

    @property
    def where(self) -> str:
        return f"{self.table.source or self.table.title} ({self.ref})"


@dataclass(frozen=True, slots=True)
class Column:
    entry: Entry
    report: Report | None  # None: nothing within the budget
    fitted: float | int | None = None  # the width or resolution the budget chose
    # every table publishing this configuration's accuracy; the first is the one shown
    published: tuple[Published, ...] = ()

    @property
    def top1(self) -> float | None:
        return self.published[0].accuracy.value("top1") if self.published else None

    @property
    def top5(self) -> float | None:
        return self.published[0].accuracy.value("top5") if self.published else None


@dataclass(frozen=True, slots=True)
class Comparison:
    columns: tuple[Column, ...]
    keys: tuple[str, ...]
    budget: Mapping[str, float]
    vary: str
    front: tuple[int, ...] = ()  # columns on the accuracy front (MACs vs top-1)
    paper: str = ""  # the --paper table, FILE:TABLE


ACCURACY_NOTE = ("top-1 %: the ImageNet top-1 accuracy published for the trained model at "
                 "exactly this configuration (specs/papers data, not computed); — : none is "
                 "published for it.")
FRONT_NOTE = ("accuracy front: yes where no other column has at most its MACs per image and "
              "at least its top-1, one of them strictly (MobileNet v1 Table 8, MobileNetV2 "
              "Figure 5: lower MACs, higher accuracy); — : no published top-1, so not on the "
              "front.")


def table_ref(table: PaperTable) -> str:
    return f"{table.file.removesuffix('.yaml')}:{table.id}"


def published_accuracy(tables: Sequence[PaperTable] | None = None
                       ) -> dict[tuple[Any, ...], list[Published]]:
    """Every published accuracy of the papers data by configuration, in data order."""
    index: dict[tuple[Any, ...], list[Published]] = {}
    for table in load_tables() if tables is None else tables:
        for row in table.rows:
            if row.accuracy is not None:
                key = configuration(row.spec, row.settings)
                index.setdefault(key, []).append(Published(row.accuracy, table, row))
    return index


def paper_table(ref: str, tables: Sequence[PaperTable]) -> PaperTable:
    """The table `FILE:TABLE` names (`howard2017_mobilenet_v1:table8`), if it has accuracy."""
    by_ref = {table_ref(t): t for t in tables}
    with_accuracy = sorted(r for r, t in by_ref.items()
                           if any(row.accuracy is not None for row in t.rows))
    if ref not in by_ref:
        files = {r.partition(":")[0] for r in by_ref}
        if ref in files:
            mine = [r for r in with_accuracy if r.startswith(ref + ":")]
            raise CostcalcError(f"--paper '{ref}': name one table, FILE:TABLE",
                                "its tables with a published accuracy: "
                                + (", ".join(mine) if mine else "none"))
        raise CostcalcError(f"--paper '{ref}': no such papers table",
                            did_you_mean(ref, by_ref, "tables with a published accuracy: "
                                         + capped(with_accuracy)))
    if ref not in with_accuracy:
        raise CostcalcError(f"--paper '{ref}': the table gives no published accuracy",
                            "tables that do: " + capped(with_accuracy))
    return by_ref[ref]


def paper_entries(table: PaperTable) -> list[Entry]:
    """One entry per configuration the table gives an accuracy for, in row order."""
    out: dict[tuple[Any, ...], Entry] = {}
    for row in table.rows:
        if row.accuracy is None:
            continue
        settings = row.settings
        res = settings.get("resolution")
        res = tuple(res) if isinstance(res, list) else res
        args = dict(settings.get("args") or {})
        parts = [f"{k}={v}" for k, v in (("variant", settings.get("variant")),
                                         ("width", settings.get("width"))) if v is not None]
        if res is not None:
            parts.append("resolution=" + (str(res) if isinstance(res, int) else
                                          f"{res[0]}x{res[1]}"))
        parts += [f"{k}={v}" for k, v in args.items()]
        text = row.spec + (":" + ",".join(parts) if parts else "")
        out.setdefault(configuration(row.spec, settings),
                       Entry(text, row.spec, settings.get("width"), res, None,
                             settings.get("variant"), args, table_ref(table)))
    return list(out.values())


def accuracy_front(columns: Sequence[Column]) -> tuple[int, ...]:
    """The columns with a published top-1 that no other beats on MACs per image (fewer) and
    top-1 (higher), by `sweep.pareto_front` (ties all kept)."""
    known = [i for i, c in enumerate(columns) if c.report is not None and c.top1 is not None]
    if not known:
        return ()
    macs = np.array([columns[i].report.totals.macs / columns[i].report.batch for i in known],
                    dtype=float)
    top1 = np.array([-float(columns[i].top1) for i in known], dtype=float)
    return tuple(known[j] for j in pareto_front([macs, top1]).tolist())


def _published(entry: Entry, index: Mapping[tuple[Any, ...], list[Published]],
               width: float | None = None, resolution: int | tuple[int, int] | None = None
               ) -> tuple[Published, ...]:
    found = index.get(configuration(entry.spec, entry.settings(width, resolution)), [])
    # the entry's own table first: `--paper T` shows T's figure
    return tuple(sorted(found, key=lambda p: p.ref != entry.paper))


def compare(entries: Sequence[str | Entry], keys: Sequence[str] | None = None,
            budget: Mapping[str, float] | None = None, vary: str = "width",
            dtype: str = "fp32", params: str = "framework", paper: str | None = None,
            tables: Sequence[PaperTable] | None = None, *, width: float | None = None,
            resolution: int | tuple[int, int] | None = None, batch: int = 1,
            variant: str | None = None, args: Mapping[str, Any] | None = None,
            weight_dtype: str | None = None, act_dtype: str | None = None) -> Comparison:
    """Every entry's report (at the largest width or resolution within `budget`, if given),
    with its published accuracy; `paper` (FILE:TABLE) adds that table's configurations;
    `tables` is the papers data (default: the bundled specs/papers). `width`, `resolution`,
    `batch`, `variant`, `args` (spec arguments), `dtype`, `weight_dtype`, `act_dtype` and
    `params` are shared by every entry, as `analyze` takes them; an entry's own settings win
    (`with_shared`)."""
    if vary not in VARY:
        raise CostcalcError(f"cannot vary '{vary}'", did_you_mean(vary, VARY))
    keys = tuple(DEFAULT_KEYS if keys is None else keys)
    check_metric_keys(keys)
    shared = {"width": width, "resolution": resolution, "batch": batch, "variant": variant,
              "args": dict(args or {}), "dtype": dtype, "weight_dtype": weight_dtype,
              "act_dtype": act_dtype, "params": params}
    _check_counting(shared, lambda key: "--" + key.replace("_", "-"))
    items = [item if isinstance(item, Entry) else parse_entry(item) for item in entries]
    for item in items:
        _check_counting({k: getattr(item, k) for k in COUNTING},
                        lambda key, item=item: f"'{item.text}': {key}")
    tables = load_tables() if tables is None else tables
    if paper:
        items += paper_entries(paper_table(paper, tables))
    if not items:
        raise CostcalcError("nothing to compare", "name one spec or more, or --paper "
                            "FILE:TABLE")
    index = published_accuracy(tables)
    columns = []
    for item in items:
        entry = with_shared(item, shared)
        model = load_spec(entry.spec)
        _check_args(model, entry.args, item)
        settings = dict(batch=entry.batch, dtype=entry.dtype, params=entry.params,
                        weight_dtype=entry.weight_dtype, act_dtype=entry.act_dtype,
                        args=entry.args, variant=entry.variant)
        if not budget:
            columns.append(Column(entry, analyze(model, width=entry.width,
                                                 resolution=entry.resolution, **settings),
                                  published=_published(entry, index)))
            continue
        fitted = _fit(model, entry, budget, vary, settings)
        if fitted is None:
            columns.append(Column(entry, None))
            continue
        width = fitted if vary == "width" else entry.width
        resolution = fitted if vary == "resolution" else entry.resolution
        columns.append(Column(entry, analyze(model, width=width, resolution=resolution,
                                             **settings), fitted,
                              _published(entry, index, width, resolution)))
    return Comparison(tuple(columns), keys, dict(budget or {}), vary,
                      accuracy_front(columns), paper or "")


def _check_args(spec: Spec, args: Mapping[str, Any], item: Entry) -> None:
    """Every spec argument is the spec's; an unknown one is named where it was given (the
    entry, or --set), with the closest setting or argument (`widht` is `width`)."""
    for name in args:
        if name in spec.args:
            continue
        if name not in item.args:
            raise CostcalcError(f"--set: {spec.file} ('{item.text}') has no argument "
                                f"'{name}'", did_you_mean(name, spec.args) if spec.args
                                else "this spec declares no arguments")
        raise CostcalcError(f"'{item.text}': '{name}' is neither a setting nor an argument of "
                            f"{spec.file}", did_you_mean(name, [*SETTINGS, *spec.args]))


def _fit(spec: Spec, entry: Entry, budget: Mapping[str, float], vary: str,
         settings: Mapping[str, Any]) -> float | int | None:
    if vary == "width":
        res = entry.resolution
        grid: dict[str, Any] = {"alphas": WIDTHS, "resolutions": None if res is None else [res]}
    else:
        grid = {"alphas": None if entry.width is None else [entry.width],
                "resolutions": RESOLUTIONS}
    candidates = "alphas" if vary == "width" else "resolutions"
    while True:
        try:
            result = sweep(spec, grid["alphas"], grid["resolutions"], batch=settings["batch"],
                           dtype=settings["dtype"], params=settings["params"],
                           weight_dtype=settings["weight_dtype"],
                           act_dtype=settings["act_dtype"],
                           args=settings["args"], variant=settings["variant"],
                           keys=list(budget), on_invalid="skip")
            break
        except LargestInvalid:  # the int64 bound needs a valid largest candidate: fewer
            if len(grid[candidates]) < 2:
                raise
            grid[candidates] = grid[candidates][:len(grid[candidates]) // 2]
    fits = np.ones(len(result), dtype=bool)
    for key, limit in budget.items():
        fits &= result.totals[key] <= limit
    if not fits.any():
        return None
    chosen = np.flatnonzero(fits)[-1]  # candidates ascend: the last that fits is the largest
    return float(result.alpha[chosen]) if vary == "width" else int(result.height[chosen])
