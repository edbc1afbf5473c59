"""results.json: writing, reading, and validating every field against the dataclasses.

Loading checks types, unknown and missing fields and the ``schema_version``, and names the path
of a bad field (``results.performance.queries[3].p95_ms: expected float, got a string``).
Bump ``SCHEMA_VERSION`` on an incompatible change and register in ``_UPGRADES`` a function that
turns the older layout into the next one where that is possible.
"""

from __future__ import annotations

import json
import math
import types
from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from harness.results.model import SCHEMA_VERSION, ResultsError, RunResults


# -- JSON -------------------------------------------------------------------------------------
def _from_1(data: dict[str, Any]) -> dict[str, Any]:
    """1 -> 2 added optional fields only (performance findings and cross-check, the load
    test's ramp-up and measured window): a version 1 file reads as it is."""
    return {**data, "schema_version": 2}


_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {  # from version n to n+1
    1: _from_1,
}


def results_to_dict(results: RunResults) -> dict[str, Any]:
    data: dict[str, Any] = {"schema_version": results.schema_version}
    data.update({k: v for k, v in _encode(results, "results").items() if k != "schema_version"})
    data["verdict"] = results.verdict
    return data


def results_from_dict(data: Any, source: str = "results") -> RunResults:
    if not isinstance(data, dict):
        raise ResultsError(f"{source}: expected a JSON object, got {_kind(data)}")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultsError(f"{source}: schema_version is missing or not an integer",
                           hint="this is not a harness results.json")
    while version != SCHEMA_VERSION and version in _UPGRADES:
        data, version = _UPGRADES[version](data), version + 1
    if version != SCHEMA_VERSION:
        newer = version > SCHEMA_VERSION
        raise ResultsError(
            f"{source}: schema_version {version} is not supported: this harness reads "
            f"schema_version {SCHEMA_VERSION}",
            hint="upgrade the harness to read it" if newer else
            "regenerate it with `harness run`, or read it with the harness version that wrote it")
    body = {k: v for k, v in data.items() if k != "verdict"}
    decoded: RunResults = _decode(RunResults, body, source)
    return decoded


def save_results(results: RunResults, path: Path) -> Path:
    """Write ``results.json`` atomically (parents created)."""
    text = json.dumps(results_to_dict(results), ensure_ascii=False, indent=2, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text + "\n", encoding="utf-8")
    partial.replace(path)
    return path


def load_results(path: Path) -> RunResults:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ResultsError(f"cannot read {path}: {exc.strerror}",
                           hint="give the results.json of a run (reports/<run-id>/results.json)"
                           ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path} is not JSON (line {exc.lineno}: {exc.msg})",
                           hint="regenerate it with `harness run`") from exc
    return results_from_dict(data, str(path))


def _encode(value: Any, path: str) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name), f"{path}.{f.name}")
                for f in fields(value)}
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_encode(v, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {str(k): _encode(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        raise ResultsError(f"{path}: {value} cannot be written to JSON",
                           hint="record a finite number, or leave the field out (None)")
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return get_type_hints(cls)


def _decode(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        return None if value is None else _decode(options[0], value, path)
    if origin is tuple:
        return _decode_tuple(get_args(tp), value, path)
    if origin is dict:
        if not isinstance(value, dict):
            raise _wrong(path, "an object", value)
        return {k: _decode(get_args(tp)[1], v, f"{path}.{k}") for k, v in value.items()}
    if is_dataclass(tp) and isinstance(tp, type):
        return _decode_dataclass(tp, value, path)
    return _decode_scalar(tp, value, path)


def _decode_tuple(args: tuple[Any, ...], value: Any, path: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise _wrong(path, "a list", value)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ResultsError(f"{path}: expected {len(args)} items, got {len(value)}")
    pairs = zip(args, value, strict=True)
    return tuple(_decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(pairs))


def _decode_dataclass(cls: type, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        raise _wrong(path, "an object", value)
    hints = _hints(cls)
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ResultsError(f"{path}: unknown field(s) {', '.join(unknown)} in {cls.__name__}")
    missing = [name for name, f in known.items() if name not in value
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise ResultsError(f"{path}: missing field(s) {', '.join(missing)} of {cls.__name__}")
    kwargs = {k: _decode(hints[k], v, f"{path}.{k}") for k, v in value.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ResultsError(f"{path}: {exc}") from exc


def _decode_scalar(tp: Any, value: Any, path: str) -> Any:
    if tp is bool and isinstance(value, bool):
        return value
    if tp is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if tp is str and isinstance(value, str):
        return value
    if tp is datetime and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            raise _wrong(path, "an ISO 8601 timestamp", value) from None
    raise _wrong(path, getattr(tp, "__name__", str(tp)), value)


def _wrong(path: str, expected: str, value: Any) -> ResultsError:
    return ResultsError(f"{path}: expected {expected}, got {_kind(value)} {value!r:.60}")


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")
