"""Configuration: CLI flag > ``[tool.harness]`` in pyproject.toml > ``HARNESS_*`` env > default.

Values are merged with ``is not None`` so that an explicit ``0`` or empty string given at a
higher level wins. Unknown keys in ``[tool.harness]`` are an error, not silently ignored.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigError

MODES = ("embedded", "dsn", "container")


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings of one harness invocation."""

    mode: str = "embedded"
    dsn: str | None = None
    pg_bin: str | None = None
    port: int | None = None
    os_user: str = "postgres"
    migrations: Path = Path("schema/migrations")
    reports: Path = Path("reports")
    app_role: str = "legal_app"
    scale: str = "tiny"
    seed: int = 1
    shared_buffers: str = "256MB"
    extra: Mapping[str, Any] = field(default_factory=dict)


_INT_FIELDS = {"port", "seed"}
_PATH_FIELDS = {"migrations", "reports"}
_FIELDS = {f.name for f in dataclasses.fields(Settings)} - {"extra"}


def find_pyproject(start: Path | None = None) -> Path | None:
    """Return the nearest pyproject.toml at or above ``start`` (default: cwd)."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_pyproject(path: Path | None) -> dict[str, Any]:
    """Read ``[tool.harness]`` from ``path``; relative paths are made relative to it."""
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(
            f"could not read [tool.harness] from {path}: {exc}",
            hint="fix the TOML syntax or run from another directory",
        ) from exc
    section = dict(data.get("tool", {}).get("harness", {}))
    for key in _PATH_FIELDS & section.keys():
        section[key] = str((path.parent / section[key]).resolve())
    return section


def read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """Collect ``HARNESS_<FIELD>`` variables."""
    values: dict[str, Any] = {}
    for name in _FIELDS:
        raw = environ.get(f"HARNESS_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw
    return values


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in _INT_FIELDS:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{name}={value!r} from {source} is not an integer",
                hint=f"give {name} as a whole number",
            ) from None
    if name in _PATH_FIELDS:
        return Path(value)
    return str(value)


def load_settings(
    cli: Mapping[str, Any] | None = None,
    *,
    pyproject: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge the sources by precedence and validate the result."""
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("HARNESS_* environment", read_env(os.environ if environ is None else environ)),
        ("[tool.harness]", read_pyproject(pyproject or find_pyproject())),
        ("command line", dict(cli or {})),
    ]
    merged: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for source, layer in layers:
        for name, value in layer.items():
            if value is None:
                continue
            if name in _FIELDS:
                merged[name] = _coerce(name, value, source)
            elif isinstance(value, Mapping):
                extra[name] = value
            else:
                raise ConfigError(
                    f"unknown setting {name!r} in {source}",
                    hint=f"known settings: {', '.join(sorted(_FIELDS))}",
                )
    if merged.get("dsn") and "mode" not in merged:
        merged["mode"] = "dsn"
    settings = Settings(**merged, extra=extra)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if settings.mode not in MODES:
        raise ConfigError(
            f"mode={settings.mode!r} is not one of {', '.join(MODES)}",
            hint="use --mode embedded (default), --dsn URL, or --mode container",
        )
    if settings.mode == "dsn" and not settings.dsn:
        raise ConfigError("mode=dsn needs a DSN", hint="pass --dsn or set HARNESS_DSN")
    if settings.port is not None and not 0 < settings.port < 65536:
        raise ConfigError(f"port={settings.port} is out of range", hint="use 1-65535")
