"""YAML configs turned into typed dataclasses, with ``key=value`` overrides.

Unknown keys are an error; values are checked against the dataclass field types. Nested
dataclasses are nested mappings; overrides address them with dots (``model.width=128``).
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import yaml

from ptalker.errors import PtalkerError

T = TypeVar("T")


def _check_value(value: Any, hint: Any, where: str) -> Any:
    """Return ``value`` converted to the type ``hint`` describes, or raise a PtalkerError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _check_value(value, arg, where)
            except PtalkerError as err:
                errors.append(str(err))
        raise PtalkerError(errors[0])
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise PtalkerError(f"{where}: expected a mapping, got {value!r}")
        return from_dict(hint, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise PtalkerError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return origin(_check_value(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise PtalkerError(f"{where}: expected a mapping, got {value!r}")
        key_t, val_t = args if args else (Any, Any)
        return {_check_value(k, key_t, where): _check_value(v, val_t, f"{where}.{k}")
                for k, v in value.items()}
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):
        try:
            return float(value)  # YAML 1.1 reads 1e-4 (no dot) as a string
        except ValueError:
            pass
    if hint is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # names such as sentence "01" written without quotes
    if isinstance(hint, type) and not isinstance(value, hint) or \
            (hint is int and isinstance(value, bool)):
        raise PtalkerError(f"{where}: expected {hint.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: dict, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types are errors."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise PtalkerError(
            f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys: {', '.join(fields)}"
        )
    values = {}
    for name, value in data.items():
        values[name] = _check_value(value, hints[name], f"{where}.{name}")
    try:
        return cls(**values)
    except TypeError as err:
        raise PtalkerError(f"{where}: {err}") from None


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``key=value`` strings (dotted keys, YAML values) to a nested dict, in place."""
    for item in overrides:
        if "=" not in item:
            raise PtalkerError(f"override '{item}': expected key=value, for example fps=30")
        key, raw = item.split("=", 1)
        node = data
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise PtalkerError(f"override '{item}': '{part}' is not a section")
        try:
            node[leaf] = yaml.safe_load(raw)
        except yaml.YAMLError:
            raise PtalkerError(f"override '{item}': the value is not valid YAML; quote it or fix "
                               "the brackets") from None
    return data


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping.

    Raises:
        PtalkerError: missing file, YAML syntax error, or a top level that is not a mapping.
    """
    path = Path(path)
    if not path.is_file():
        raise PtalkerError(f"{path}: config file not found; check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise PtalkerError(f"{path}: invalid YAML ({str(err).splitlines()[0]}); fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PtalkerError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def load_config(cls: type[T], path: str | os.PathLike | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> T:
    """Read the YAML at ``path`` (or start from the defaults), apply overrides, build ``cls``."""
    data = load_yaml(path) if path is not None else {}
    apply_overrides(data, list(overrides))
    return from_dict(cls, data, where=str(path) if path is not None else "config")
