"""Configuration precedence: CLI > [tool.harness] > HARNESS_* env > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Settings, load_settings
from harness.errors import ConfigError


def _pyproject(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.harness]\n{body}\n", encoding="utf-8")
    return path


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings({}, pyproject=_pyproject(tmp_path, ""), environ={})
    assert settings == Settings()


def test_precedence_cli_over_pyproject_over_env(tmp_path: Path) -> None:
    env = {"HARNESS_SEED": "7", "HARNESS_SCALE": "medium", "HARNESS_PORT": "6000"}
    pyproject = _pyproject(tmp_path, 'scale = "small"\nport = 6001')
    settings = load_settings({"port": 6002}, pyproject=pyproject, environ=env)
    assert (settings.seed, settings.scale, settings.port) == (7, "small", 6002)


def test_zero_and_empty_values_win(tmp_path: Path) -> None:
    # merged with `is not None`: an explicit 0 on the command line beats the env's 5
    settings = load_settings({"seed": 0}, pyproject=_pyproject(tmp_path, ""),
                             environ={"HARNESS_SEED": "5"})
    assert settings.seed == 0


def test_dsn_implies_dsn_mode(tmp_path: Path) -> None:
    settings = load_settings({}, pyproject=_pyproject(tmp_path, ""),
                             environ={"HARNESS_DSN": "postgresql://x@h/db"})
    assert settings.mode == "dsn" and settings.dsn == "postgresql://x@h/db"


def test_pyproject_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    settings = load_settings({}, pyproject=_pyproject(tmp_path, 'migrations = "db/mig"'),
                             environ={})
    assert settings.migrations == tmp_path / "db" / "mig"


@pytest.mark.parametrize(
    ("cli", "body", "env", "match"),
    [
        ({"mode": "cloud"}, "", {}, "mode='cloud' is not one of"),
        ({}, "colour = 'red'", {}, "unknown setting 'colour' in \\[tool.harness\\]"),
        ({}, "", {"HARNESS_PORT": "eighty"}, "port='eighty' from HARNESS_\\* environment"),
        ({"port": 70000}, "", {}, "out of range"),
        ({"mode": "dsn"}, "", {}, "needs a DSN"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, cli: dict[str, object], body: str,
                                       env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_settings(cli, pyproject=_pyproject(tmp_path, body), environ=env)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.harness\n")
    with pytest.raises(ConfigError, match="could not read"):
        load_settings({}, pyproject=path, environ={})
