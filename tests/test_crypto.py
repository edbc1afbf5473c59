"""Tests of harness.crypto: value format, AAD binding, blind index, key providers, keyring.

The pure tests need no database. The keyring tests use ``key_conn``, which takes the harness
plugin's ``harness_db`` fixture (a fresh migrated database with ``app.tenants`` and
``app.tenant_keys``) and skips when that plugin is not loaded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import assume, given
from hypothesis import strategies as st

from harness.crypto import (
    BLIND_INDEX_LEN,
    CIPHERTEXT_VERSION,
    MIN_CIPHERTEXT_LEN,
    CryptoError,
    DataKey,
    DecryptionError,
    EnvKeyProvider,
    FieldCipher,
    FileKeyProvider,
    KeyNotFoundError,
    KeyProviderError,
    Keyring,
    NoActiveKeyError,
    StaticKeyProvider,
    ciphertext_key_id,
    compute_blind_index,
    decrypt_value,
    encrypt_value,
    field_aad,
    is_ciphertext,
    normalize_identifier,
)
from harness.errors import HarnessError

KEK_A = bytes(range(32))
KEK_B = bytes(range(100, 132))
TENANT = UUID("0b6f1c3e-7a42-4c1e-9d2a-000000000001")
OTHER_TENANT = UUID("0b6f1c3e-7a42-4c1e-9d2a-000000000002")
ROW = UUID("5d1e8a90-1111-4b7c-8e0f-00000000000a")
OTHER_ROW = UUID("5d1e8a90-1111-4b7c-8e0f-00000000000b")
MY_NUMBER = "123456789018"  # synthetic マイナンバー with a valid check digit


class MemoryKeys:
    """An in-memory KeySource for FieldCipher tests without a database."""

    def __init__(self) -> None:
        self.keys: dict[tuple[UUID, UUID], DataKey] = {}
        self.active: dict[UUID, DataKey] = {}

    def add(self, tenant_id: UUID) -> DataKey:
        key = DataKey(tenant_id, uuid4(), os.urandom(32))
        self.keys[(tenant_id, key.key_id)] = self.active[tenant_id] = key
        return key

    def active_key(self, tenant_id: UUID | str) -> DataKey:
        return self.active[tenant_id if isinstance(tenant_id, UUID) else UUID(tenant_id)]

    def key_by_id(self, tenant_id: UUID | str, key_id: UUID) -> DataKey:
        tid = tenant_id if isinstance(tenant_id, UUID) else UUID(tenant_id)
        try:
            return self.keys[(tid, key_id)]
        except KeyError:
            raise KeyNotFoundError(f"data key {key_id} not found") from None


@pytest.fixture
def dek() -> bytes:
    return os.urandom(32)


@pytest.fixture
def memory_cipher() -> tuple[MemoryKeys, FieldCipher]:
    keys = MemoryKeys()
    keys.add(TENANT)
    keys.add(OTHER_TENANT)
    return keys, FieldCipher(keys)


# --- value format and AEAD -------------------------------------------------------------------


@pytest.mark.parametrize("plaintext", [MY_NUMBER, "秘匿特権: 依頼者との通信", "", b"\x00\xff"])
def test_round_trip(dek: bytes, plaintext: str | bytes) -> None:
    aad = field_aad(TENANT, "clients", "my_number", ROW)
    blob = encrypt_value(dek, uuid4(), aad, plaintext)
    expected = plaintext.encode() if isinstance(plaintext, str) else plaintext
    assert decrypt_value(dek, aad, blob) == expected
    assert len(blob) == MIN_CIPHERTEXT_LEN + len(expected)


NAMES = st.text(min_size=1, max_size=12)
DEK = bytes(range(7, 39))


@given(
    plaintext=st.binary(max_size=64) | st.text(max_size=32), where=st.tuples(NAMES, NAMES, NAMES)
)
def test_round_trip_property(plaintext: str | bytes, where: tuple[str, str, str]) -> None:
    aad = field_aad(TENANT, *where)
    blob = encrypt_value(DEK, ROW, aad, plaintext)
    assert is_ciphertext(blob)
    assert decrypt_value(DEK, aad, blob) == (
        plaintext.encode() if isinstance(plaintext, str) else plaintext
    )


@given(where=st.tuples(NAMES, NAMES, NAMES), shift=st.integers(1, 11))
def test_field_aad_changes_when_part_boundaries_move(
    where: tuple[str, str, str], shift: int
) -> None:
    table, column, row = where
    assume(shift < len(column))
    moved = (table + column[:shift], column[shift:], row)  # same characters, other split
    assert field_aad(TENANT, *moved) != field_aad(TENANT, *where)


def test_layout_names_key_and_uses_fresh_nonces(dek: bytes) -> None:
    key_id = uuid4()
    aad = field_aad(TENANT, "clients", "my_number", ROW)
    first, second = (encrypt_value(dek, key_id, aad, MY_NUMBER) for _ in range(2))
    assert first[0] == CIPHERTEXT_VERSION == 1
    assert first[1:17] == key_id.bytes
    assert ciphertext_key_id(first) == key_id
    assert first[17:29] != second[17:29]
    assert first != second and is_ciphertext(first)
    assert encrypt_value(dek, key_id.bytes, aad, MY_NUMBER)[1:17] == key_id.bytes


@pytest.mark.parametrize(
    ("blob", "expected"),
    [
        (b"", False),
        (b"\x01" * 44, False),
        (b"\x01" + bytes(44), True),
        (b"\x02" + bytes(44), False),
        (bytes(60), False),
        (b"\x01" + bytes(200), True),
    ],
)
def test_is_ciphertext_matches_the_sql_check(blob: bytes, expected: bool) -> None:
    assert MIN_CIPHERTEXT_LEN == 45
    assert is_ciphertext(blob) is expected


def test_malformed_value_is_rejected_before_decryption(dek: bytes) -> None:
    with pytest.raises(DecryptionError, match="not a field ciphertext: 44 bytes"):
        decrypt_value(dek, b"", b"\x01" * 44)
    with pytest.raises(DecryptionError, match="first byte 2"):
        ciphertext_key_id(b"\x02" + bytes(60))


def test_wrong_tenant_dek_fails(dek: bytes) -> None:
    aad = field_aad(TENANT, "clients", "my_number", ROW)
    blob = encrypt_value(dek, uuid4(), aad, MY_NUMBER)
    with pytest.raises(DecryptionError, match="failed authentication"):
        decrypt_value(os.urandom(32), aad, blob)


MOVES = {
    "other row": (TENANT, "clients", "my_number", OTHER_ROW),
    "other column": (TENANT, "clients", "bank_account", ROW),
    "other table": (TENANT, "parties", "my_number", ROW),
    "other tenant": (OTHER_TENANT, "clients", "my_number", ROW),
}


@pytest.mark.parametrize("target", MOVES.values(), ids=MOVES.keys())
def test_value_moved_elsewhere_fails_even_under_the_same_key(
    dek: bytes, target: tuple[UUID, str, str, UUID]
) -> None:
    blob = encrypt_value(dek, uuid4(), field_aad(TENANT, "clients", "my_number", ROW), MY_NUMBER)
    with pytest.raises(DecryptionError):
        decrypt_value(dek, field_aad(*target), blob)


def test_every_tampered_byte_fails(dek: bytes) -> None:
    aad = field_aad(TENANT, "clients", "my_number", ROW)
    blob = encrypt_value(dek, uuid4(), aad, MY_NUMBER)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt_value(dek, aad, bytes(tampered))
    for cut in (blob[:-1], blob + b"\x00"):
        with pytest.raises(DecryptionError):
            decrypt_value(dek, aad, cut)


def test_field_aad_is_unambiguous_and_canonical() -> None:
    assert field_aad(TENANT, "a|b", "c", 1) != field_aad(TENANT, "a", "b|c", 1)
    assert field_aad(TENANT, "t", "c", "1|2") != field_aad(TENANT, "t", "c|1", 2)
    assert field_aad(str(TENANT).upper(), "t", "c", ROW) == field_aad(TENANT, "t", "c", ROW)
    with pytest.raises(CryptoError, match="column is empty"):
        field_aad(TENANT, "t", "", ROW)
    with pytest.raises(CryptoError, match="tenant_id must be a UUID"):
        field_aad("tenant-1", "t", "c", ROW)


def test_errors_are_harness_errors() -> None:
    for cls in (DecryptionError, KeyNotFoundError, NoActiveKeyError, KeyProviderError):
        assert issubclass(cls, CryptoError) and issubclass(cls, HarnessError)
    assert issubclass(KeyNotFoundError, DecryptionError)


# --- blind index -----------------------------------------------------------------------------

MY_NUMBER_SPELLINGS = [
    "123456789018",
    "１２３４５６７８９０１８",  # 全角 digits
    "1234-5678-9018",
    "１２３４－５６７８－９０１８",  # 全角 digits and hyphen
    "1234 5678 9018",
    "1234\u30005678\u30009018",  # ideographic space
    "1234ー5678ー9018",  # katakana prolonged sound mark typed as a hyphen
    "1234\u22125678\u20109018",  # minus sign, hyphen
    " 123456789018\n",
]


def test_blind_index_normalises_identifier_spellings(dek: bytes) -> None:
    indexes = {compute_blind_index(dek, "my_number", s) for s in MY_NUMBER_SPELLINGS}
    assert len(indexes) == 1
    assert compute_blind_index(dek, "my_number", "123456789017") not in indexes
    assert normalize_identifier("０１２３－４５６７　８９") == "0123456789"


def test_blind_index_is_deterministic_per_tenant_and_column(dek: bytes) -> None:
    value = compute_blind_index(dek, "my_number", MY_NUMBER)
    assert len(value) == BLIND_INDEX_LEN == 32
    assert compute_blind_index(dek, "my_number", MY_NUMBER) == value
    assert compute_blind_index(os.urandom(32), "my_number", MY_NUMBER) != value
    assert compute_blind_index(dek, "bank_account", MY_NUMBER) != value


def test_blind_index_follows_the_documented_construction(dek: bytes) -> None:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"blind-index|my_number")
    expected = hmac.digest(hkdf.derive(dek), MY_NUMBER.encode(), "sha256")
    assert compute_blind_index(dek, "my_number", "1234-5678-9018") == expected


def test_blind_index_of_empty_value_is_refused(dek: bytes) -> None:
    with pytest.raises(CryptoError, match="empty after normalisation"):
        compute_blind_index(dek, "my_number", " －　")


def test_field_cipher_blind_index_differs_across_tenants(
    memory_cipher: tuple[MemoryKeys, FieldCipher],
) -> None:
    _, cipher = memory_cipher
    mine = cipher.blind_index(TENANT, "my_number", MY_NUMBER)
    assert cipher.blind_index(str(TENANT), "my_number", "１２３４－５６７８－９０１８") == mine
    assert cipher.blind_index(OTHER_TENANT, "my_number", MY_NUMBER) != mine


# --- field cipher over an in-memory key source -----------------------------------------------


def test_field_cipher_round_trip(memory_cipher: tuple[MemoryKeys, FieldCipher]) -> None:
    _, cipher = memory_cipher
    blob = cipher.encrypt(TENANT, "correspondence", "body", ROW, "拝啓 時下ますますご清栄のこと")
    assert cipher.decrypt_text(TENANT, "correspondence", "body", ROW, blob).startswith("拝啓")
    raw = cipher.encrypt(TENANT, "documents", "content", 42, b"\xff\xfe")
    assert cipher.decrypt(TENANT, "documents", "content", 42, raw) == b"\xff\xfe"
    with pytest.raises(CryptoError, match="not UTF-8"):
        cipher.decrypt_text(TENANT, "documents", "content", 42, raw)


def test_value_copied_to_another_tenant_fails(
    memory_cipher: tuple[MemoryKeys, FieldCipher],
) -> None:
    keys, cipher = memory_cipher
    blob = cipher.encrypt(TENANT, "clients", "my_number", ROW, MY_NUMBER)
    with pytest.raises(DecryptionError, match="not found"):  # the other tenant lacks the key
        cipher.decrypt(OTHER_TENANT, "clients", "my_number", ROW, blob)
    relabelled = blob[:1] + keys.active[OTHER_TENANT].key_id.bytes + blob[17:]
    with pytest.raises(DecryptionError, match="failed authentication"):
        cipher.decrypt(OTHER_TENANT, "clients", "my_number", ROW, relabelled)


def test_encrypt_throughput_printout(
    memory_cipher: tuple[MemoryKeys, FieldCipher], capsys: pytest.CaptureFixture[str]
) -> None:
    keys, cipher = memory_cipher
    n = 20_000
    rows = [uuid4() for _ in range(n)]
    start = time.perf_counter()
    blobs = [cipher.encrypt(TENANT, "clients", "my_number", r, MY_NUMBER) for r in rows]
    encrypted = time.perf_counter()
    for row, blob in zip(rows, blobs, strict=True):
        cipher.decrypt(TENANT, "clients", "my_number", row, blob)
    decrypted = time.perf_counter()
    key, aad = keys.active[TENANT], field_aad(TENANT, "clients", "my_number", ROW)
    for _ in range(n):
        encrypt_value(key.dek, key.key_id, aad, MY_NUMBER)
    raw = time.perf_counter()
    for _ in range(n):
        compute_blind_index(key.dek, "my_number", MY_NUMBER)
    indexed = time.perf_counter()
    with capsys.disabled():
        print(
            f"\n[crypto, {n} values] FieldCipher.encrypt {n / (encrypted - start):,.0f}/s"
            f", FieldCipher.decrypt {n / (decrypted - encrypted):,.0f}/s"
            f", encrypt_value (AAD prebuilt) {n / (raw - decrypted):,.0f}/s"
            f", compute_blind_index {n / (indexed - raw):,.0f}/s"
        )
    assert all(is_ciphertext(b) for b in blobs)


# --- key providers ---------------------------------------------------------------------------


def test_static_provider_wraps_with_bound_aad() -> None:
    provider = StaticKeyProvider(KEK_A)
    assert provider.kek_id == hashlib.sha256(KEK_A).hexdigest()[:8]
    dek = os.urandom(32)
    wrapped = provider.wrap(dek, b"aad-1")
    assert len(wrapped) == 61 and dek not in wrapped
    assert provider.unwrap(wrapped, b"aad-1") == dek
    with pytest.raises(DecryptionError, match=f"KEK {provider.kek_id}"):
        provider.unwrap(wrapped, b"aad-2")
    with pytest.raises(DecryptionError):
        StaticKeyProvider(KEK_B).unwrap(wrapped, b"aad-1")
    with pytest.raises(DecryptionError, match="malformed"):
        provider.unwrap(wrapped[:-1], b"aad-1")
    assert KEK_A.hex() not in repr(provider) and provider.kek_id in repr(provider)


def test_static_provider_refuses_a_short_key() -> None:
    with pytest.raises(KeyProviderError, match="16 bytes; AES-256 needs exactly 32"):
        StaticKeyProvider(bytes(16))


@pytest.mark.parametrize(
    "text",
    [
        KEK_A.hex(),
        KEK_A.hex().upper(),
        base64.b64encode(KEK_A).decode(),
        base64.urlsafe_b64encode(KEK_A).decode() + "\n",
    ],
    ids=["hex", "HEX", "base64", "urlsafe-base64"],
)
def test_env_provider_accepts_hex_and_base64(text: str) -> None:
    provider = EnvKeyProvider(environ={"HARNESS_KEK": text})
    assert provider.kek_id == StaticKeyProvider(KEK_A).kek_id


def test_env_provider_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_KEK", base64.b64encode(KEK_B).decode())
    assert EnvKeyProvider().kek_id == StaticKeyProvider(KEK_B).kek_id


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "environment variable HARNESS_KEK is not set.*openssl rand -base64 32"),
        ({"HARNESS_KEK": "  "}, "HARNESS_KEK is not set"),
        ({"HARNESS_KEK": base64.b64encode(bytes(16)).decode()}, "HARNESS_KEK decodes to 16 bytes"),
        ({"HARNESS_KEK": "not a key!"}, "HARNESS_KEK is neither 64 hex digits nor base64"),
        ({"HARNESS_KEK": "ｷｰ" * 22}, "HARNESS_KEK is neither"),
    ],
    ids=["missing", "blank", "short", "garbage", "non-ascii"],
)
def test_env_provider_errors_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(KeyProviderError, match=message):
        EnvKeyProvider(environ=environ)


def test_env_provider_uses_a_custom_variable_name() -> None:
    with pytest.raises(KeyProviderError, match="FIRM_KEK is not set"):
        EnvKeyProvider("FIRM_KEK", environ={"HARNESS_KEK": KEK_A.hex()})


def test_file_provider(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    path.write_text(base64.b64encode(KEK_A).decode() + "\n")
    assert FileKeyProvider(path).kek_id == StaticKeyProvider(KEK_A).kek_id
    assert FileKeyProvider(str(path)).kek_id == StaticKeyProvider(KEK_A).kek_id


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist.*openssl rand -base64 32 >"),
        (b"", "decodes to 0 bytes"),
        (base64.b64encode(bytes(24)), "decodes to 24 bytes"),
        (os.urandom(31) + b"\xff", "is not base64 or hex text"),
    ],
    ids=["missing", "empty", "short", "binary"],
)
def test_file_provider_errors_name_the_file(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "kek.b64"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeyProviderError, match=message) as info:
        FileKeyProvider(path)
    assert str(path) in str(info.value)


def test_file_provider_unreadable_path(tmp_path: Path) -> None:
    with pytest.raises(KeyProviderError, match="cannot read KEK file"):
        FileKeyProvider(tmp_path)  # a directory


# --- keyring in PostgreSQL -------------------------------------------------------------------


@pytest.fixture
def key_conn(request: pytest.FixtureRequest) -> psycopg.Connection[Any]:
    """The harness plugin's fresh migrated database; skip when the plugin is not loaded."""
    try:
        conn: psycopg.Connection[Any] = request.getfixturevalue("harness_db")
    except pytest.FixtureLookupError:
        pytest.skip("needs the harness_db fixture of the harness pytest plugin")
    return conn


def new_tenant(conn: psycopg.Connection[Any], name: str = "テスト法律事務所") -> UUID:
    tenant_id = uuid4()
    conn.execute(
        "INSERT INTO app.tenants (id, slug, name) VALUES (%s, %s, %s)",
        (tenant_id, f"crypto-{tenant_id.hex[:12]}", name),
    )
    return tenant_id


def test_keyring_stores_only_wrapped_keys(key_conn: psycopg.Connection[Any]) -> None:
    tenant = new_tenant(key_conn)
    provider = StaticKeyProvider(KEK_A)
    keyring = Keyring(key_conn, provider)
    key_id = keyring.create_tenant_key(tenant)
    active = keyring.active_key(tenant)
    assert active.key_id == key_id and active.tenant_id == tenant
    assert keyring.active_key(str(tenant)) is active
    assert keyring.key_by_id(tenant, key_id) == active
    assert str(key_id) in repr(active) and active.dek.hex() not in repr(active)
    rows = key_conn.execute(
        "SELECT wrapped_key, kek_id FROM app.tenant_keys WHERE tenant_id = %s", (tenant,)
    ).fetchall()
    assert len(rows) == 1
    wrapped, kek_id = rows[0]
    assert kek_id == provider.kek_id and len(wrapped) == 61 and active.dek not in wrapped


def test_active_key_is_the_newest_non_retired(key_conn: psycopg.Connection[Any]) -> None:
    tenant = new_tenant(key_conn)
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    cipher = FieldCipher(keyring)
    first = keyring.create_tenant_key(tenant)
    old_blob = cipher.encrypt(tenant, "clients", "my_number", ROW, MY_NUMBER)
    second = keyring.create_tenant_key(tenant)
    assert keyring.active_key(tenant).key_id == second
    assert ciphertext_key_id(cipher.encrypt(tenant, "clients", "my_number", ROW, "x")) == second
    assert cipher.decrypt_text(tenant, "clients", "my_number", ROW, old_blob) == MY_NUMBER
    key_conn.execute("UPDATE app.tenant_keys SET retired_at = now() WHERE key_id = %s", (second,))
    keyring.clear_cache()
    assert keyring.active_key(tenant).key_id == first
    assert keyring.key_by_id(tenant, second).key_id == second  # retired keys still decrypt


def test_ciphertext_fits_the_schema_check(key_conn: psycopg.Connection[Any]) -> None:
    tenant = new_tenant(key_conn)
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    keyring.create_tenant_key(tenant)
    cipher = FieldCipher(keyring)
    blobs = [cipher.encrypt(tenant, "clients", "note", ROW, v) for v in ("", "備考", b"\x00")]
    for blob in [*blobs, b"", b"\x01" * 44, b"\x02" + bytes(44), b"\x01" + bytes(44)]:
        row = key_conn.execute("SELECT app_private.is_ciphertext(%s)", (blob,)).fetchone()
        assert row == (is_ciphertext(blob),), blob


def test_wrapped_key_copied_to_another_tenant_fails(key_conn: psycopg.Connection[Any]) -> None:
    mine, theirs = new_tenant(key_conn, "甲法律事務所"), new_tenant(key_conn, "乙法律事務所")
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    keyring.create_tenant_key(mine)
    their_key = keyring.create_tenant_key(theirs)
    key_conn.execute(
        "UPDATE app.tenant_keys SET wrapped_key ="
        " (SELECT wrapped_key FROM app.tenant_keys WHERE tenant_id = %s) WHERE tenant_id = %s",
        (mine, theirs),
    )
    with pytest.raises(DecryptionError, match="does not unwrap"):
        Keyring(key_conn, StaticKeyProvider(KEK_A)).key_by_id(theirs, their_key)


def test_rotation_rewraps_without_reencrypting(key_conn: psycopg.Connection[Any]) -> None:
    old, new = StaticKeyProvider(KEK_A), StaticKeyProvider(KEK_B)
    tenants = [new_tenant(key_conn, f"事務所{i}") for i in range(2)]
    keyring = Keyring(key_conn, old)
    for tenant in tenants:
        keyring.create_tenant_key(tenant)
    keyring.create_tenant_key(tenants[0])  # a second DEK: 3 rows in all
    cipher = FieldCipher(keyring)
    blobs = {t: cipher.encrypt(t, "clients", "my_number", ROW, MY_NUMBER) for t in tenants}
    assert keyring.rotate_kek(new) == 3
    assert keyring.provider is new
    kek_ids = key_conn.execute(
        "SELECT DISTINCT kek_id FROM app.tenant_keys WHERE tenant_id = ANY(%s)", (tenants,)
    ).fetchall()
    assert kek_ids == [(new.kek_id,)]
    fresh = FieldCipher(Keyring(key_conn, StaticKeyProvider(KEK_B)))  # the old KEK is not needed
    for tenant, blob in blobs.items():
        assert fresh.decrypt_text(tenant, "clients", "my_number", ROW, blob) == MY_NUMBER
    with pytest.raises(KeyProviderError, match=f"{new.kek_id}.*{old.kek_id}"):
        Keyring(key_conn, old).active_key(tenants[1])
    assert keyring.rotate_kek(new) == 0  # re-running an interrupted rotation is safe


def test_shredding_makes_values_unrecoverable(key_conn: psycopg.Connection[Any]) -> None:
    shredded, kept = new_tenant(key_conn, "解散事務所"), new_tenant(key_conn, "存続事務所")
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    gone_key = keyring.create_tenant_key(shredded)
    keyring.create_tenant_key(kept)
    cipher = FieldCipher(keyring)
    gone = cipher.encrypt(shredded, "clients", "my_number", ROW, MY_NUMBER)
    still = cipher.encrypt(kept, "clients", "my_number", ROW, MY_NUMBER)
    assert keyring.shred(shredded) == 1
    for reader in (cipher, FieldCipher(Keyring(key_conn, StaticKeyProvider(KEK_A)))):
        with pytest.raises(KeyNotFoundError, match=f"data key {gone_key} of tenant {shredded}"):
            reader.decrypt(shredded, "clients", "my_number", ROW, gone)
        assert reader.decrypt_text(kept, "clients", "my_number", ROW, still) == MY_NUMBER
    with pytest.raises(NoActiveKeyError, match=str(shredded)):
        cipher.encrypt(shredded, "clients", "my_number", ROW, MY_NUMBER)


def test_create_key_for_unknown_tenant(key_conn: psycopg.Connection[Any]) -> None:
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    with pytest.raises(CryptoError, match="does not exist"), key_conn.transaction():
        keyring.create_tenant_key(uuid4())


def test_configurable_key_table_is_quoted(key_conn: psycopg.Connection[Any]) -> None:
    key_conn.execute('CREATE TABLE app."Key Store" (LIKE app.tenant_keys INCLUDING ALL)')
    tenant = new_tenant(key_conn)
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A), table="app.Key Store")
    key_id = keyring.create_tenant_key(tenant)
    row = key_conn.execute('SELECT key_id FROM app."Key Store"').fetchone()
    assert row == (key_id,)
    with pytest.raises(CryptoError, match="is not a table name"):
        Keyring(key_conn, StaticKeyProvider(KEK_A), table="a.b.c")


def test_rotation_refuses_a_role_filtered_by_row_level_security(
    key_conn: psycopg.Connection[Any],
) -> None:
    keyring = Keyring(key_conn, StaticKeyProvider(KEK_A))
    key_conn.execute("SET ROLE legal_app")  # the application role: RLS shows one tenant at most
    with pytest.raises(CryptoError, match="rotate_kek must see every tenant's keys"):
        keyring.rotate_kek(StaticKeyProvider(KEK_B))
    assert keyring.provider.kek_id == StaticKeyProvider(KEK_A).kek_id
    key_conn.execute("RESET ROLE")
