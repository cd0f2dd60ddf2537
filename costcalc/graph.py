"""The layer graph: immutable layer records in topological order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .deployment import Density
from .errors import Problem, SpecError
from .ops import OpBase


@dataclass(frozen=True, slots=True)
class Condition:
    """A `when:` (or residual condition) that reads channel counts or alpha, so only the shape
    pass can decide it. While `test` is false the layer does not exist and a reference to it
    means the layer `bypass` (the entry's input, or the block's main path)."""

    test: Any  # a dims.Deferred boolean
    bypass: str


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer: its op (whose fields may hold dims Unknowns until the shape pass), the
    layers it reads, and where the spec wrote it."""

    name: str
    op: OpBase
    inputs: tuple[str, ...]
    line: int  # 1-based line in the spec that produced this layer
    group: str | None = None  # the top-level block instance it belongs to, if any
    conditions: tuple[Condition, ...] = ()  # all must hold for the layer to exist
    residual_line: int = 0  # a block's residual merge: the line of its `residual:` (`line`
    # is then the block's call)

    @property
    def kind(self) -> str:
        return self.op.kind


@dataclass(frozen=True, slots=True)
class Graph:
    """A network: its layers in topological order, and what the spec says about it."""

    name: str
    source: str
    file: str
    layers: tuple[Layer, ...]
    width: float = 1.0
    paper_params: tuple[str, ...] | None = None  # ParamCounts fields the paper counted
    density: tuple[Density, ...] = ()  # the spec's `density:` (its variant's first)

    def __post_init__(self) -> None:
        # Invariants, checked once at construction (like torch.fx's lint()).
        seen: dict[str, OpBase] = {}
        problems = []
        for layer in self.layers:
            if layer.name in seen:
                problems.append(Problem(self.file, layer.line,
                                        f"duplicate layer name '{layer.name}'",
                                        "give each layer a unique name"))
            for src in layer.inputs:
                if src not in seen:
                    problems.append(Problem(self.file, layer.line,
                                            f"'{layer.name}' uses '{src}' before it is defined"))
            low, high = layer.op.arity
            n = len(layer.inputs)
            if n < low or (high is not None and n > high):
                want = f"{low}" if low == high else f"at least {low}"
                problems.append(Problem(self.file, layer.line,
                                        f"{layer.kind} '{layer.name}' takes {want} input(s), "
                                        f"got {n}"))
            elif all(src in seen for src in layer.inputs):
                problem = layer.op.check_sources(tuple(seen[src] for src in layer.inputs))
                if problem:
                    problems.append(Problem(self.file, layer.line, f"'{layer.name}': {problem}"))
            seen[layer.name] = layer.op
        if problems:
            raise SpecError(problems)

    def by_name(self) -> dict[str, Layer]:
        return {layer.name: layer for layer in self.layers}
