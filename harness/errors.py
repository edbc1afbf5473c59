"""The HarnessError tree: misuse and environment problems.

Every message says what was checked and what to do. What the harness *discovers* about a
database is not an error but a ``Finding`` (see ``harness.findings``).
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness reports as one line with exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(HarnessError):
    """Invalid configuration value, flag, or pyproject section."""


class ProvisionError(HarnessError):
    """PostgreSQL could not be provisioned (binaries, ports, initdb, start)."""


class BinariesNotFoundError(ProvisionError):
    """No PostgreSQL 15 server binaries were found."""


class PortInUseError(ProvisionError):
    """The requested port is already bound."""


class DockerUnavailableError(ProvisionError):
    """Container mode was requested but no Docker engine answers."""


class ConnectError(HarnessError):
    """A DSN could not be connected to."""


class MigrationError(HarnessError):
    """Base for migration problems."""


class MigrationFileError(MigrationError):
    """A malformed migration file name, a duplicate version, an undo without its migration."""


class ValidationError(MigrationError):
    """Applied migrations differ from the files (checksum drift, missing or unknown versions)."""


class MigrationFailedError(MigrationError):
    """A migration script failed; its transaction was rolled back."""


class CryptoError(HarnessError):
    """Key provider or key storage problems (missing KEK, shredded key)."""
