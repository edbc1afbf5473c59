"""Flyway naming and checksum rules, checked against an independent CRC-32."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import MigrationFileError
from harness.flyway import Version, checksum_file, checksum_text, discover, parse_name


def _bitwise_crc32(data: bytes) -> int:
    """CRC-32 (IEEE 802.3, reflected 0xEDB88320) computed bit by bit: independent of zlib."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _signed(value: int) -> int:
    return value - (1 << 32) if value >= (1 << 31) else value


def _expected(lines: list[str]) -> int:
    """Flyway: CRC over each line's UTF-8 bytes without terminator == CRC over their concat."""
    return _signed(_bitwise_crc32("".join(lines).encode("utf-8")))


LINES = ["-- 事件番号", "CREATE TABLE t (id int);", "", "INSERT INTO t VALUES (1);"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_checksum_ignores_line_terminators(newline: str) -> None:
    text = newline.join(LINES) + newline
    assert checksum_text(text) == _expected(LINES)


def test_checksum_strips_bom_from_first_line_only(tmp_path: Path) -> None:
    path = tmp_path / "V1__bom.sql"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(LINES).encode("utf-8"))
    assert checksum_file(path) == _expected(LINES)
    assert checksum_text("x\n\ufeffy") == _expected(["x", "\ufeffy"])


def test_checksum_mixed_terminators_and_blank_lines() -> None:
    text = "a\r\n\r\nb\rc\n\n"
    assert checksum_text(text) == _expected(["a", "b", "c"])


def test_checksum_is_signed_32_bit() -> None:
    # "-- a" has a CRC above 2**31 and must come back negative, as Flyway's int column.
    unsigned = _bitwise_crc32(b"-- a")
    assert unsigned >= 1 << 31
    assert checksum_text("-- a\n") == unsigned - (1 << 32) < 0


def test_checksum_changes_with_content() -> None:
    assert checksum_text("SELECT 1;") != checksum_text("SELECT 2;")


@pytest.mark.parametrize(
    ("name", "kind", "version", "description"),
    [
        ("V017__multi_tenant_foundation.sql", "V", (17,), "multi tenant foundation"),
        ("U1_2__undo_it.sql", "U", (1, 2), "undo it"),
        ("V1.2.0__x.sql", "V", (1, 2), "x"),
        ("R__views.sql", "R", None, "views"),
    ],
)
def test_parse_name(tmp_path: Path, name: str, kind: str, version: tuple[int, ...] | None,
                    description: str) -> None:
    path = tmp_path / name
    path.write_text("SELECT 1;")
    script = parse_name(path)
    assert script.kind == kind
    assert (script.version.parts if script.version else None) == version
    assert script.description == description


@pytest.mark.parametrize("name", ["V017_missing_separator.sql", "X1__bad.sql", "V__noversion.sql",
                                  "R1__versioned_repeatable.sql", "Vabc__x.sql"])
def test_malformed_names_are_rejected(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationFileError, match="malformed|not dotted"):
        discover(tmp_path)


def test_duplicate_version_rejected(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "V1.0__b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationFileError, match="duplicate version"):
        discover(tmp_path)


def test_undo_without_migration_rejected(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_text("SELECT 1;")
    (tmp_path / "U2__b.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationFileError, match="no versioned migration V2"):
        discover(tmp_path)


def test_invalid_utf8_rejected(tmp_path: Path) -> None:
    (tmp_path / "V1__a.sql").write_bytes(b"SELECT '\xff';")
    with pytest.raises(MigrationFileError, match="not valid UTF-8"):
        discover(tmp_path)


def test_versions_order_numerically() -> None:
    versions = sorted(Version.parse(v) for v in ["10", "9", "1.10", "1.9", "017"])
    assert [v.text for v in versions] == ["1.9", "1.10", "9", "10", "017"]


def test_shipped_migrations_discover_in_order() -> None:
    scripts = discover(Path("schema/migrations"))
    versions = [s.version.parts for s in scripts.versioned if s.version]
    assert versions == sorted(versions) and versions[0] == (17,)
    assert set(scripts.undo) == {s.version for s in scripts.versioned}
