"""A JSON Schema (draft 2020-12) for the spec format, generated from the declarations the spec
loader uses: each layer kind's fields and their type hints (schema.SCHEMAS), the keys of every
part of a spec, the choices of every Literal. `costcalc schema` prints it; an editor's YAML
language server validates against it (docs/spec-format.md).

A schema cannot express everything the loader checks (block calls name blocks declared in the
same file, expressions are text that must evaluate, shapes must agree); it checks the form.
"""

from __future__ import annotations

import typing
from typing import Any

from .schema import (
    ACTS,
    BLOCK_KEYS,
    COMMON_KEYS,
    MERGES,
    NORMS,
    PARAM_ROLES,
    POSITIVE_FIELDS,
    SCHEMAS,
    SUGAR_KINDS,
    TOP_KEYS,
    VARIANT_KEYS,
)
from .width import ROUNDING

EXPRESSION = {"type": "string", "description": "an expression, e.g. c_in * t"}
NAME = {"type": "string", "pattern": r"^[^.]+$"}
WORD = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_]*$"}
TEXT_ARG = {**WORD, "description": "inside a block: the name of one of its text arguments"}


def _hint(hint: Any, key: str, in_block: bool = False) -> dict[str, Any]:
    """The JSON Schema of a field's type hint; numbers may also be expressions (text), and
    inside a block a choice may name a text argument."""
    origin = typing.get_origin(hint)
    if origin is typing.Literal and in_block:
        return {"anyOf": [{"enum": list(typing.get_args(hint))}, TEXT_ARG]}
    if hint is int:
        return {"anyOf": [{"type": "integer", "minimum": 1 if key in POSITIVE_FIELDS else 0},
                          EXPRESSION]}
    if hint is float:
        return {"anyOf": [{"type": "number"}, EXPRESSION]}
    if hint is bool:
        return {"anyOf": [{"type": "boolean"}, EXPRESSION]}
    if hint is str:
        return {"type": "string", "minLength": 1}
    if origin is typing.Literal:
        return {"enum": list(typing.get_args(hint))}
    if origin is tuple:
        args = typing.get_args(hint)
        item = _hint(args[0], key, in_block)
        if args[-1] is Ellipsis:
            return {"type": "array", "items": item, "minItems": 1}
        return {"type": "array", "items": item, "minItems": len(args), "maxItems": len(args)}
    if hint is type(None):
        return {"type": "null"}
    return {"anyOf": [_hint(option, key, in_block) for option in typing.get_args(hint)]}


def _choice(words: tuple[str, ...], in_block: bool) -> dict[str, Any]:
    return {"anyOf": [{"enum": list(words)}, TEXT_ARG]} if in_block else {"enum": list(words)}


def _op(kind: str, with_common: bool = True, in_block: bool = False) -> dict[str, Any]:
    schema = SCHEMAS[kind]
    properties = {key: _hint(schema.hints[field], key, in_block)
                  for key, field in schema.keys.items()}
    if kind in SUGAR_KINDS:
        properties |= {"norm": _choice(NORMS, in_block), "act": _choice(ACTS, in_block),
                       "scale": _hint(bool, "scale")}
    elif "out" in schema.keys:
        properties["scale"] = _hint(bool, "scale")
    if with_common:
        properties |= _common()
    out: dict[str, Any] = {"type": ["object", "null"], "properties": properties,
                           "additionalProperties": False}
    return out


def _common() -> dict[str, Any]:
    common = {"name": NAME, "inputs": {"type": "array", "items": {"type": "string"},
                                       "minItems": 1},
              "n": _hint(int, "n"), "when": _hint(bool, "when")}
    assert set(common) == COMMON_KEYS
    return common


def _entries(in_block: bool) -> dict[str, Any]:
    """A list of entries: at the top level, or inside a block (where choices may name the
    block's text arguments)."""
    entries = {"$ref": "#/$defs/block_entries" if in_block else "#/$defs/entries"}
    entry_kinds = {kind: _op(kind, in_block=in_block) for kind in sorted(SCHEMAS)}
    entry_kinds["parallel"] = {"type": "object", "properties": {
        "branches": {"type": "array", "items": entries}, "merge": {"enum": list(MERGES)},
        **_common()}, "required": ["branches"], "additionalProperties": False}
    # a block call's arguments: numbers, expressions (text) or words for text arguments
    block_call = {"type": ["object", "null"], "additionalProperties": {
        "anyOf": [{"type": "number"}, EXPRESSION, {"type": "array"}]}}
    return {"type": "array", "items": {
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "properties": entry_kinds, "additionalProperties": block_call}}


def spec_schema() -> dict[str, Any]:
    number = {"anyOf": [{"type": "number"}, {"type": "boolean"}]}
    entries = {"$ref": "#/$defs/entries"}
    block_entries = {"$ref": "#/$defs/block_entries"}
    residual = {"anyOf": [_hint(bool, "residual"), {
        "type": "object", "additionalProperties": False, "properties": {
            "when": _hint(bool, "when"), "shortcut": block_entries,
            "merge": {"enum": list(MERGES)}, "act": _choice(ACTS, True)}}]}
    # `density:` (docs/deploy.md): layer or block name ("*": every layer) -> fraction kept
    density = {"type": "object", "additionalProperties": {"anyOf": [
        {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        {"type": "string", "pattern": r"^\s*([0-9]*\.?[0-9]+%?|[0-9]+/[0-9]+)\s*$"}]}}
    size = {"anyOf": [{"type": "integer", "minimum": 1},
                      {"type": "array", "items": {"type": "integer", "minimum": 1},
                       "minItems": 2, "maxItems": 2}]}
    properties = {
        "version": {"const": 1},
        "name": {"type": "string"},
        "source": {"type": "string"},
        "description": {"type": "string"},
        "input": {"type": "object", "properties": {
            "channels": {"type": "integer", "minimum": 1}, "size": size},
            "required": ["size"], "additionalProperties": False},
        "width": {"type": "object", "additionalProperties": False, "properties": {
            "multiplier": {"type": "number", "exclusiveMinimum": 0},
            "round": {"enum": list(ROUNDING)}, "divisor": {"type": "integer", "minimum": 1},
            "min": {"type": "integer", "minimum": 1}}},
        "paper_params": {"type": "array", "items": {"enum": list(PARAM_ROLES)}, "minItems": 1},
        "args": {"type": "object", "additionalProperties": number},
        "variants": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "properties": {
                "width": {"type": "number", "exclusiveMinimum": 0}, "resolution": size,
                "args": {"type": "object", "additionalProperties": number},
                "description": {"type": "string"}, "density": density}}},
        "density": density,
        "defaults": {"type": "object", "additionalProperties": False,
                     "properties": {kind: _op(kind, with_common=False)
                                    for kind in sorted(SCHEMAS)}},
        "blocks": {"type": "object", "additionalProperties": {
            "type": "object", "additionalProperties": False, "required": ["layers"],
            "properties": {"args": {"type": "object", "additionalProperties": {
                "anyOf": [{"type": "number"}, {"type": "null"}, {
                    **WORD, "description": "a text argument's default, e.g. relu"}]}},
                "repeat": {"type": "object"}, "layers": block_entries, "residual": residual,
                "description": {"type": "string"}}}},
        "layers": entries,
    }
    assert set(properties) == TOP_KEYS and set(properties["variants"]["additionalProperties"][
        "properties"]) == VARIANT_KEYS and set(properties["blocks"]["additionalProperties"][
            "properties"]) == BLOCK_KEYS
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "costcalc network spec (version 1)",
        "type": "object",
        "required": ["version", "name", "input", "layers"],
        "additionalProperties": False,
        "properties": properties,
        "$defs": {"entries": _entries(False), "block_entries": _entries(True)},
    }
