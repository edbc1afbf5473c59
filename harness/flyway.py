"""Flyway file conventions: names, versions and checksums.

Flyway itself is a JVM tool that cannot run here (no Maven Central), and undo is a paid Flyway
feature, so the naming and checksum rules are reimplemented to stay byte-compatible with the
``flyway_schema_history`` that Flyway writes in production:

* ``V<version>__<description>.sql``, ``U<version>__<description>.sql``, ``R__<description>.sql``;
  version parts separated by ``.`` or ``_``; description underscores become spaces.
* checksum = CRC32 over the UTF-8 bytes of every line with its terminator (``\\r\\n``, ``\\r``,
  ``\\n``) removed, a BOM stripped from the first line, stored as a signed 32-bit integer.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import total_ordering
from pathlib import Path

from harness.errors import MigrationFileError

_NAME = re.compile(r"^(?P<prefix>[VUR])(?P<version>[0-9][0-9._]*)?__(?P<desc>[^/]+)\.sql$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_BOM = "\ufeff"


def checksum_text(text: str) -> int:
    """Flyway's checksum of a script given as text."""
    crc = 0
    for index, line in enumerate(_LINE_BREAK.split(text)):
        if index == 0 and line.startswith(_BOM):
            line = line[1:]
        crc = zlib.crc32(line.encode("utf-8"), crc)
    return crc - (1 << 32) if crc >= (1 << 31) else crc


def checksum_file(path: Path) -> int:
    """Flyway's checksum of a UTF-8 script file."""
    return checksum_text(path.read_bytes().decode("utf-8"))


@total_ordering
@dataclass(frozen=True, slots=True)
class Version:
    """A Flyway version: numeric parts compared as numbers; ``text`` keeps the file's form."""

    parts: tuple[int, ...]
    text: str = field(compare=False)

    @classmethod
    def parse(cls, raw: str) -> Version:
        text = raw.replace("_", ".").strip(".")
        try:
            parts = tuple(int(p) for p in text.split("."))
        except ValueError:
            raise MigrationFileError(
                f"version {raw!r} is not dotted numbers",
                hint="use versions like 017 or 1.2 (V017__desc.sql)",
            ) from None
        while len(parts) > 1 and parts[-1] == 0:
            parts = parts[:-1]
        return cls(parts, text)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.parts < other.parts

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Script:
    """One migration file."""

    kind: str  # "V", "U" or "R"
    version: Version | None
    description: str
    path: Path
    checksum: int

    @property
    def script(self) -> str:
        return self.path.name

    @property
    def type(self) -> str:
        """The ``type`` column Flyway writes for this script."""
        return "UNDO_SQL" if self.kind == "U" else "SQL"

    def sql(self) -> str:
        return self.path.read_bytes().decode("utf-8").lstrip(_BOM)


@dataclass(frozen=True, slots=True)
class ScriptSet:
    """The migrations of a directory: versioned in order, undo by version, repeatables."""

    versioned: tuple[Script, ...]
    undo: dict[Version, Script]
    repeatable: tuple[Script, ...]

    def by_version(self, version: Version) -> Script | None:
        return next((s for s in self.versioned if s.version == version), None)


def parse_name(path: Path) -> Script:
    """Parse one file name; raise MigrationFileError naming the file if it is malformed."""
    match = _NAME.match(path.name)
    if not match:
        raise MigrationFileError(
            f"malformed migration file name: {path}",
            hint="name it V<version>__<desc>.sql, U<version>__<desc>.sql or R__<desc>.sql",
        )
    prefix, raw_version = match["prefix"], match["version"]
    if (prefix == "R") != (raw_version is None):
        raise MigrationFileError(
            f"malformed migration file name: {path}",
            hint="V and U files need a version (V017__x.sql); R files have none (R__x.sql)",
        )
    version = Version.parse(raw_version) if raw_version else None
    try:
        checksum = checksum_file(path)
    except UnicodeDecodeError as exc:
        raise MigrationFileError(
            f"migration file {path} is not valid UTF-8 (byte {exc.start})",
            hint="save the file as UTF-8",
        ) from None
    return Script(prefix, version, match["desc"].replace("_", " "), path, checksum)


def discover(directory: Path) -> ScriptSet:
    """Read and check every ``*.sql`` file of ``directory`` before anything runs."""
    if not directory.is_dir():
        raise MigrationFileError(
            f"migrations directory {directory} does not exist",
            hint="pass --migrations DIR or set migrations in [tool.harness]",
        )
    scripts = [parse_name(p) for p in sorted(directory.glob("*.sql"))]
    versioned = _unique(s for s in scripts if s.kind == "V")
    undo = _unique(s for s in scripts if s.kind == "U")
    for version, script in undo.items():
        if version not in versioned:
            raise MigrationFileError(
                f"undo script {script.path} has no versioned migration V{version}",
                hint="add the V file or remove the orphaned U file",
            )
    repeatable = tuple(sorted((s for s in scripts if s.kind == "R"), key=lambda s: s.description))
    return ScriptSet(tuple(versioned[v] for v in sorted(versioned)), undo, repeatable)


def _unique(scripts: Iterable[Script]) -> dict[Version, Script]:
    seen: dict[Version, Script] = {}
    for script in scripts:
        assert script.version is not None
        if script.version in seen:
            raise MigrationFileError(
                f"duplicate version {script.version}: {seen[script.version].path.name} and "
                f"{script.path.name}",
                hint="give each migration a unique version",
            )
        seen[script.version] = script
    return seen
