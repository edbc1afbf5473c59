"""Generating datasets: reproducibility, scales and overrides, errors, the command line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from uuid import uuid4

import numpy as np
import psycopg
import pytest

from datasets.build import table_digests
from datasets.domain.bodytext import BodyTextGenerator
from datasets.generate import generate_into
from datasets.scales import SCALES, get_scale
from datasets.searchtext import TextCache
from datasets.truth import DatasetInfo
from harness.crypto import (
    CryptoError,
    StaticKeyProvider,
    decrypt_value,
    encrypt_value,
    field_aad,
    wrap_aad,
)
from harness.errors import ConfigError
from harness.migrations import Migrator
from harness.postgres import Server, connect, create_database, drop_database, free_port
from harness.textsearch import tokenize


def _generate(server: Server, template: str, name: str, seed: int, **overrides: int
              ) -> tuple[dict[str, tuple[int, str]], DatasetInfo]:
    dsn = create_database(server, name, template=template)
    try:
        with connect(dsn, autocommit=True) as conn:
            info = generate_into(conn, get_scale("tiny", **overrides), seed)
            return table_digests(conn), info
    finally:
        drop_database(server, name)


def test_same_seed_gives_byte_identical_tables(harness_server: Server,
                                               harness_template: str) -> None:
    first, info = _generate(harness_server, harness_template, "gen_same_a", 7)
    second, _ = _generate(harness_server, harness_template, "gen_same_b", 7)
    assert first == second
    written = {t for t, rows in info.stats.rows.items() if rows and not t.startswith("pg_")}
    assert written <= {t for t, (count, _) in first.items() if count}
    other, _ = _generate(harness_server, harness_template, "gen_other", 8)
    assert other["app.cases"] != first["app.cases"]
    assert other["app.document_versions"] != first["app.document_versions"]


def test_overrides_set_tenants_and_largest_tenant(harness_server: Server,
                                                  harness_template: str) -> None:
    digests, info = _generate(harness_server, harness_template, "gen_override", 3, tenants=2,
                              cases=12, documents=50)
    assert [t.cases for t in info.tenants] == get_scale("tiny", tenants=2, cases=12,
                                                        documents=50).per_tenant(12, 5)
    assert info.tenants[0].documents == 50
    assert digests["app.tenants"][0] == 2


def test_named_scales_reach_their_targets() -> None:
    small, large = SCALES["small"], SCALES["large"]
    assert small.cases >= 1_000 and small.documents >= 10_000
    assert large.cases >= 100_000 and large.documents >= 1_000_000
    sizes = small.per_tenant(small.cases)
    assert sizes == sorted(sizes, reverse=True) and sizes[0] / sizes[1] == pytest.approx(
        2 ** small.zipf, rel=0.02)


def test_bad_scale_name_is_one_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown scale 'huge'"):
        get_scale("huge")
    result = subprocess.run([sys.executable, "-m", "datasets.cli", "--scale", "huge"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("harness: error: unknown scale 'huge'")


def test_unreachable_database_is_a_connect_error() -> None:
    dsn = f"host=127.0.0.1 port={free_port()} dbname=x connect_timeout=2"
    result = subprocess.run([sys.executable, "-m", "datasets.cli", "--dsn", dsn],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert re.match(r"harness: error: could not connect", result.stderr)


def test_unmigrated_database_is_refused(empty_db_dsn: str) -> None:
    with connect(empty_db_dsn, autocommit=True) as conn, \
            pytest.raises(ConfigError, match="not migrated"):
        generate_into(conn, get_scale("tiny"), 1)


def test_generate_command_loads_into_a_dsn(harness_server: Server, harness_template: str
                                           ) -> None:
    dsn = create_database(harness_server, "gen_cli", template=harness_template)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "datasets.cli", "--dsn", dsn, "--scale", "tiny",
             "--tenants", "2", "--cases", "8", "--documents", "20", "--seed", "5"],
            capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "app.document_versions" in result.stdout and "rows/s" in result.stdout
        with psycopg.connect(dsn) as conn:
            row = conn.execute("SELECT count(*) FROM app.tenants").fetchone()
            assert row is not None and row[0] == 2
    finally:
        drop_database(harness_server, "gen_cli")


def test_sentence_cache_tokenizes_like_whole_texts() -> None:
    bodies = BodyTextGenerator().generate(np.random.default_rng(11), 300)
    cache = TextCache()
    assert [cache.text(b) for b in bodies] == [" ".join(tokenize(b)) for b in bodies]


def test_loads_at_an_older_schema_version(harness_server: Server, migrations_dir: object
                                          ) -> None:
    dsn = create_database(harness_server, "gen_v020")
    try:
        Migrator(dsn, migrations_dir).migrate("020")  # type: ignore[arg-type]
        with connect(dsn, autocommit=True) as conn:
            info = generate_into(conn, get_scale("tiny", tenants=2), 1)
        assert info.stats.rows["app.cases"] > 0 and "app.documents" not in info.stats.rows
    finally:
        drop_database(harness_server, "gen_v020")


def test_deterministic_nonce_reproduces_ciphertext_and_is_checked() -> None:
    dek, key_id, nonce = os.urandom(32), uuid4(), b"\x07" * 12
    aad = field_aad(uuid4(), "app.clients", "my_number_enc", uuid4())
    blob = encrypt_value(dek, key_id, aad, "123456789018", nonce=nonce)
    assert blob == encrypt_value(dek, key_id, aad, "123456789018", nonce=nonce)
    assert blob != encrypt_value(dek, key_id, aad, "123456789018")  # random by default
    assert decrypt_value(dek, aad, blob) == b"123456789018"
    with pytest.raises(CryptoError, match="nonce must be 12 bytes"):
        encrypt_value(dek, key_id, aad, "x", nonce=b"short")
    provider, tenant = StaticKeyProvider(os.urandom(32)), uuid4()
    wrapped = provider.wrap(dek, wrap_aad(tenant, key_id), nonce=nonce)
    assert wrapped == provider.wrap(dek, wrap_aad(tenant, key_id), nonce=nonce)
    assert provider.unwrap(wrapped, wrap_aad(tenant, key_id)) == dek
