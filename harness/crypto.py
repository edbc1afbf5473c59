"""Field encryption: AES-256-GCM envelope with database-bound AAD, blind indexes, key storage.

Design
------
* **Keys.** Each tenant has random 32-byte data keys (DEKs) in ``app.tenant_keys``, stored only
  wrapped (AES-256-GCM) under a key-encryption key (KEK) held by a :class:`KeyProvider`
  (``HARNESS_KEK``, a key file, or a static key in tests). The wrap AAD binds tenant id and key
  id, so a wrapped key copied to another tenant's row does not unwrap. The newest non-retired
  DEK encrypts; every DEK still present decrypts what it encrypted.
* **Values.** ``version (0x01) || key_id (16) || nonce (12) || ciphertext || tag (16)``, at least
  45 bytes, matching the schema's ``app_private.is_ciphertext`` CHECK
  (``octet_length(x) >= 45 AND get_byte(x, 0) = 1``). The GCM AAD is that 17-byte header
  followed by the length-prefixed tenant, table, column and row id (:func:`field_aad`): a value
  moved to another row, column, table or tenant, or relabelled with another key id, fails to
  authenticate. Nonces are 96 random bits: add a new tenant DEK well before 2**32 encryptions.
* **Blind index.** HMAC-SHA256 under a key derived from the DEK by HKDF
  (``info = b"blind-index|" + column``) over the value normalised as an identifier (NFKC,
  whitespace and hyphen-like characters removed): equality lookups of マイナンバー or account
  numbers without decrypting. It follows the active DEK: recompute it after adding a DEK.
* **Rotation and shredding.** :meth:`Keyring.rotate_kek` re-wraps every DEK under a new KEK,
  data untouched. :meth:`Keyring.shred` deletes a tenant's DEKs: its values then raise
  :class:`KeyNotFoundError` naming the key. Wrapped keys in old backups die with the KEK that
  wrapped them (rotate, then destroy the old KEK); Python cannot wipe key bytes from memory.

The :class:`Keyring` runs in its caller's transaction and never commits or rolls back: commit
after ``create_tenant_key``/``rotate_kek``/``shred``, and call :meth:`Keyring.clear_cache`
after a rollback. One keyring per connection (not thread-safe); the module-level functions are.

Why hand-written: ``cryptography`` provides every primitive (AESGCM, HKDF, HMAC). The byte
layout, the AAD bound to tenant/table/column/row and the key table are this schema's own; no
well-kept library implements them (Tink and the AWS Encryption SDK bring their own formats and
key stores), so this is deliberately thin glue that implements no primitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import string
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, LiteralString, Protocol, TypeAlias
from uuid import UUID, uuid4

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from psycopg import sql

from harness.errors import CryptoError as CryptoError  # re-exported: all crypto errors here

CIPHERTEXT_VERSION = 1
KEY_ID_LEN = 16
NONCE_LEN = 12
TAG_LEN = 16
HEADER_LEN = 1 + KEY_ID_LEN  # version byte + key id; authenticated as the start of the AAD
MIN_CIPHERTEXT_LEN = HEADER_LEN + NONCE_LEN + TAG_LEN  # 45: the ciphertext of b""
DEK_LEN = 32
KEK_LEN = 32
BLIND_INDEX_LEN = 32
DEFAULT_KEY_TABLE = "app.tenant_keys"
KEK_ENV_VAR = "HARNESS_KEK"

_VERSION_BYTE = bytes([CIPHERTEXT_VERSION])
_PACK_LEN = struct.Struct(">I").pack  # 4-byte big-endian length prefix of each AAD part
_WRAP_VERSION = b"\x01"
_WRAPPED_LEN = 1 + NONCE_LEN + DEK_LEN + TAG_LEN  # 61
_KEK_HINT = "generate a KEK with `openssl rand -base64 32` (or `openssl rand -hex 32`)"
# Hyphen-like characters still distinct after NFKC (which already maps －, ﹣ to "-" and ｰ to ー).
_DASHES = dict.fromkeys(map(ord, "-\u00ad\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"))

TenantId: TypeAlias = UUID | str
RowId: TypeAlias = UUID | int | str


class DecryptionError(CryptoError):
    """A value or wrapped key is malformed or failed authentication (wrong key or AAD)."""


class KeyNotFoundError(DecryptionError):
    """The data key a ciphertext names is not among its tenant's keys (shredded, or foreign)."""


class NoActiveKeyError(CryptoError):
    """A tenant has no non-retired data key to encrypt with."""


class KeyProviderError(CryptoError):
    """The KEK is missing, malformed or unreadable, or is not the KEK a key was wrapped under."""


# --- value format ------------------------------------------------------------------------


def is_ciphertext(b: bytes) -> bool:
    """Python twin of ``app_private.is_ciphertext``: ``octet_length >= 45 AND byte 0 = 1``."""
    return len(b) >= MIN_CIPHERTEXT_LEN and b[0] == CIPHERTEXT_VERSION


def _check_ciphertext(blob: bytes) -> None:
    if not is_ciphertext(blob):
        first = blob[0] if blob else None
        raise DecryptionError(
            f"not a field ciphertext: {len(blob)} bytes, first byte {first}",
            hint=f"expected version {CIPHERTEXT_VERSION} and at least {MIN_CIPHERTEXT_LEN} bytes",
        )


def ciphertext_key_id(blob: bytes) -> UUID:
    """The id of the data key that encrypted ``blob``."""
    _check_ciphertext(blob)
    return UUID(bytes=bytes(blob[1:HEADER_LEN]))


def _as_uuid(value: UUID | str, what: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value)
    except (TypeError, ValueError, AttributeError):
        raise CryptoError(f"{what} must be a UUID, got {value!r}") from None


def field_aad(tenant_id: TenantId, table: str, column: str, row_id: RowId) -> bytes:
    """AAD binding a value to tenant, table, column and row: each part as 4-byte length + UTF-8.

    ``row_id`` must be rendered identically when encrypting and decrypting: pass ``UUID`` or
    ``int`` objects (canonical) rather than strings of varying case.
    """
    parts = (str(_as_uuid(tenant_id, "tenant_id")), table, column, str(row_id))
    if not all(parts):
        name = ("tenant_id", "table", "column", "row_id")[parts.index("")]
        raise CryptoError(f"field AAD part {name} is empty", hint="pass the real name or id")
    out: list[bytes] = []
    for part in parts:
        data = part.encode()
        out += (_PACK_LEN(len(data)), data)
    return b"".join(out)


@lru_cache(maxsize=4096)
def _aead(dek: bytes) -> AESGCM:
    """One AESGCM object per DEK (building one costs more than an encryption)."""
    if len(dek) != DEK_LEN:
        raise CryptoError(f"a data key must be {DEK_LEN} bytes, got {len(dek)}")
    return AESGCM(dek)


def _check_nonce(nonce: bytes | None) -> bytes:
    """A fresh random nonce, or the caller's (which must be ``NONCE_LEN`` bytes)."""
    if nonce is None:
        return os.urandom(NONCE_LEN)
    if len(nonce) != NONCE_LEN:
        raise CryptoError(f"a nonce must be {NONCE_LEN} bytes, got {len(nonce)}")
    return nonce


def encrypt_value(dek: bytes, key_id: UUID | bytes, aad: bytes, plaintext: str | bytes,
                  *, nonce: bytes | None = None) -> bytes:
    """Encrypt ``plaintext`` (a str as UTF-8) under ``dek``; see the module docs for the layout.

    ``nonce`` exists only for reproducible test data: the dataset generator must write
    byte-identical ciphertext for the same seed, so it derives the nonce from the DEK, the AAD
    and the plaintext (SIV-style: it repeats only for the very same value in the very same
    field, where the ciphertext is then identical too). Never pass a fixed or counter nonce
    for real data: a GCM nonce reused under one key for two plaintexts reveals their XOR and
    the authentication key. Omitted, the nonce is 96 random bits.
    """
    kid = key_id.bytes if isinstance(key_id, UUID) else key_id
    if len(kid) != KEY_ID_LEN:
        raise CryptoError(f"key_id must be a UUID or {KEY_ID_LEN} bytes, got {len(kid)} bytes")
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    header = _VERSION_BYTE + kid
    iv = _check_nonce(nonce)
    return header + iv + _aead(dek).encrypt(iv, data, header + aad)


def decrypt_value(dek: bytes, aad: bytes, blob: bytes) -> bytes:
    """Decrypt a value made by :func:`encrypt_value`; :class:`DecryptionError` if it fails."""
    _check_ciphertext(blob)
    header, nonce = blob[:HEADER_LEN], blob[HEADER_LEN : HEADER_LEN + NONCE_LEN]
    try:
        return _aead(dek).decrypt(nonce, blob[HEADER_LEN + NONCE_LEN :], header + aad)
    except InvalidTag:
        raise DecryptionError(
            f"value under data key {UUID(bytes=bytes(blob[1:HEADER_LEN]))} failed authentication",
            hint="wrong data key, value moved to another tenant/table/column/row, or altered",
        ) from None


# --- blind index ---------------------------------------------------------------------------


def normalize_identifier(value: str) -> str:
    """NFKC, then drop whitespace and hyphen-like characters: ``"１２３－４５"`` -> ``"12345"``."""
    text = unicodedata.normalize("NFKC", value).translate(_DASHES)
    return "".join(text.split())


@lru_cache(maxsize=4096)
def _blind_key(dek: bytes, column: str) -> bytes:
    info = b"blind-index|" + column.encode()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(dek)


def compute_blind_index(dek: bytes, column: str, value: str) -> bytes:
    """32-byte HMAC-SHA256 of the normalised ``value`` under the DEK's key for ``column``."""
    normalised = normalize_identifier(value)
    if not normalised:
        raise CryptoError(
            f"blind index for {column}: value is empty after normalisation",
            hint="store NULL instead of indexing an empty identifier",
        )
    return hmac.digest(_blind_key(dek, column), normalised.encode(), "sha256")


# --- key providers -------------------------------------------------------------------------


class KeyProvider(Protocol):
    """Holds a key-encryption key and wraps/unwraps data keys under it."""

    @property
    def kek_id(self) -> str: ...

    def wrap(self, dek: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def _decode_kek(text: str, source: str) -> bytes:
    """Decode 64 hex digits or base64 (standard or URL-safe) to exactly 32 bytes."""
    text = text.strip()
    if len(text) == 2 * KEK_LEN and all(c in string.hexdigits for c in text):
        key = bytes.fromhex(text)
    else:
        try:
            key = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raise KeyProviderError(
                f"{source} is neither 64 hex digits nor base64", hint=_KEK_HINT
            ) from None
    if len(key) != KEK_LEN:
        raise KeyProviderError(
            f"{source} decodes to {len(key)} bytes; AES-256 needs exactly {KEK_LEN}", hint=_KEK_HINT
        )
    return key


class StaticKeyProvider:
    """A KEK given as 32 raw bytes (tests, or a key fetched elsewhere). AES-256-GCM wrapping:
    ``0x01 || nonce (12) || wrapped DEK || tag`` = 61 bytes."""

    __slots__ = ("_aead", "_kek_id", "_source")

    def __init__(self, key: bytes, *, source: str = "static key") -> None:
        if len(key) != KEK_LEN:
            raise KeyProviderError(
                f"{source} is {len(key)} bytes; AES-256 needs exactly {KEK_LEN}", hint=_KEK_HINT
            )
        self._aead = AESGCM(key)
        self._kek_id = hashlib.sha256(key).hexdigest()[:8]
        self._source = source

    @property
    def kek_id(self) -> str:
        """First 8 hex digits of SHA-256 of the KEK: names it without revealing it."""
        return self._kek_id

    def wrap(self, dek: bytes, aad: bytes, *, nonce: bytes | None = None) -> bytes:
        """Wrap ``dek``; ``nonce`` only for reproducible test data, as in :func:`encrypt_value`
        (the dataset generator derives it from the tenant and key id, each wrapped once)."""
        if len(dek) != DEK_LEN:
            raise CryptoError(f"a data key must be {DEK_LEN} bytes, got {len(dek)}")
        iv = _check_nonce(nonce)
        return _WRAP_VERSION + iv + self._aead.encrypt(iv, dek, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) != _WRAPPED_LEN or blob[:1] != _WRAP_VERSION:
            raise DecryptionError(
                f"wrapped data key is malformed: {len(blob)} bytes",
                hint=f"expected {_WRAPPED_LEN} bytes starting with version 1",
            )
        try:
            return self._aead.decrypt(blob[1 : 1 + NONCE_LEN], blob[1 + NONCE_LEN :], aad)
        except InvalidTag:
            raise DecryptionError(
                f"wrapped data key does not unwrap under KEK {self._kek_id}",
                hint="wrapped under another KEK, copied from another tenant/key row, or altered",
            ) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(kek_id={self._kek_id!r}, source={self._source!r})"


class EnvKeyProvider(StaticKeyProvider):
    """The KEK from an environment variable (default ``HARNESS_KEK``), base64 or hex."""

    __slots__ = ()

    def __init__(self, var: str = KEK_ENV_VAR, *, environ: Mapping[str, str] | None = None) -> None:
        text = (os.environ if environ is None else environ).get(var, "")
        if not text.strip():
            raise KeyProviderError(
                f"environment variable {var} is not set: it must hold the key-encryption key "
                "as base64 or hex of 32 bytes",
                hint=f"{_KEK_HINT} and export {var}, or use FileKeyProvider",
            )
        source = f"environment variable {var}"
        super().__init__(_decode_kek(text, source), source=source)


class FileKeyProvider(StaticKeyProvider):
    """The KEK from a file holding base64 or hex of 32 bytes (e.g. ``openssl rand -base64 32``)."""

    __slots__ = ()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        source = f"KEK file {p}"
        make = f"create it with `openssl rand -base64 32 > {p} && chmod 600 {p}`"
        try:
            text = p.read_text(encoding="ascii")
        except FileNotFoundError:
            raise KeyProviderError(f"{source} does not exist", hint=make) from None
        except UnicodeDecodeError:
            raise KeyProviderError(f"{source} is not base64 or hex text", hint=make) from None
        except OSError as exc:
            raise KeyProviderError(
                f"cannot read {source}: {exc.strerror}", hint="make it readable by this process"
            ) from None
        super().__init__(_decode_kek(text, source), source=source)


# --- key storage ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataKey:
    """An unwrapped tenant data key. Keep it in memory only; it never appears in ``repr``."""

    tenant_id: UUID
    key_id: UUID
    dek: bytes = field(repr=False)


class KeySource(Protocol):
    """Where a :class:`FieldCipher` gets data keys (a :class:`Keyring`, or a test double)."""

    def active_key(self, tenant_id: TenantId) -> DataKey: ...

    def key_by_id(self, tenant_id: TenantId, key_id: UUID) -> DataKey: ...


def wrap_aad(tenant_id: UUID, key_id: UUID) -> bytes:
    """AAD of a wrapped DEK: binds it to its tenant and key id (public for bulk loaders that
    write ``app.tenant_keys`` rows themselves)."""
    return b"tenant-dek|" + tenant_id.bytes + key_id.bytes


_wrap_aad = wrap_aad


def _table_identifier(table: str) -> sql.Identifier:
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise CryptoError(
            f"key table {table!r} is not a table name", hint="use 'schema.table' or 'table'"
        )
    return sql.Identifier(*parts)


class Keyring:
    """Tenant data keys in ``app.tenant_keys`` (or ``table``), wrapped by ``provider``'s KEK.

    Runs in the caller's transaction: it never commits or rolls back (see the module docs).
    """

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        provider: KeyProvider,
        *,
        table: str = DEFAULT_KEY_TABLE,
    ) -> None:
        self._conn = conn
        self._provider = provider
        self._table = _table_identifier(table)
        self._table_name = table
        self._active: dict[UUID, DataKey] = {}
        self._by_id: dict[tuple[UUID, UUID], DataKey] = {}

    @property
    def provider(self) -> KeyProvider:
        """The provider whose KEK wraps the keys (the new one after :meth:`rotate_kek`)."""
        return self._provider

    def _sql(self, query: LiteralString) -> sql.Composed:
        return sql.SQL(query).format(table=self._table)

    def create_tenant_key(self, tenant_id: TenantId) -> UUID:
        """Insert a new random DEK for the tenant, wrapped; it becomes the active key."""
        tid = _as_uuid(tenant_id, "tenant_id")
        key_id = uuid4()  # chosen here: the wrap AAD binds it
        wrapped = self._provider.wrap(os.urandom(DEK_LEN), _wrap_aad(tid, key_id))
        query = self._sql(
            "INSERT INTO {table} (tenant_id, key_id, wrapped_key, kek_id, created_at)"
            " VALUES (%s, %s, %s, %s, clock_timestamp())"
        )
        try:
            self._conn.execute(query, (tid, key_id, wrapped, self._provider.kek_id))
        except psycopg.errors.ForeignKeyViolation as exc:
            raise CryptoError(
                f"cannot create a data key: tenant {tid} does not exist ({exc.sqlstate})",
                hint="insert the tenant first; roll back, this transaction is aborted",
            ) from exc
        self._active.pop(tid, None)
        return key_id

    def active_key(self, tenant_id: TenantId) -> DataKey:
        """The tenant's newest non-retired key (cached in memory)."""
        tid = _as_uuid(tenant_id, "tenant_id")
        key = self._active.get(tid)
        if key is None:
            query = self._sql(
                "SELECT key_id, wrapped_key, kek_id FROM {table}"
                " WHERE tenant_id = %s AND retired_at IS NULL"
                " ORDER BY created_at DESC, key_id DESC LIMIT 1"
            )
            row = self._conn.execute(query, (tid,)).fetchone()
            if row is None:
                raise NoActiveKeyError(
                    f"tenant {tid} has no active data key in {self._table_name}",
                    hint="create one with Keyring.create_tenant_key (none yet, all retired, "
                    "or shredded)",
                )
            key = self._unwrap(tid, row[0], bytes(row[1]), row[2])
            self._active[tid] = self._by_id[(tid, key.key_id)] = key
        return key

    def key_by_id(self, tenant_id: TenantId, key_id: UUID) -> DataKey:
        """The tenant's key ``key_id``, retired or not (cached in memory)."""
        tid = _as_uuid(tenant_id, "tenant_id")
        key = self._by_id.get((tid, key_id))
        if key is None:
            query = self._sql(
                "SELECT wrapped_key, kek_id FROM {table} WHERE tenant_id = %s AND key_id = %s"
            )
            row = self._conn.execute(query, (tid, key_id)).fetchone()
            if row is None:
                raise KeyNotFoundError(
                    f"data key {key_id} of tenant {tid} is not in {self._table_name}",
                    hint="it was shredded or never created, or the value was copied from "
                    "another tenant: values under it cannot be decrypted",
                )
            key = self._by_id[(tid, key_id)] = self._unwrap(tid, key_id, bytes(row[0]), row[1])
        return key

    def _unwrap(self, tid: UUID, key_id: UUID, wrapped: bytes, kek_id: str) -> DataKey:
        if kek_id != self._provider.kek_id:
            raise KeyProviderError(
                f"data key {key_id} of tenant {tid} is wrapped under KEK {kek_id!r}, but the "
                f"key provider holds KEK {self._provider.kek_id!r} ({self._provider!r})",
                hint=f"configure KEK {kek_id!r}, or finish Keyring.rotate_kek",
            )
        return DataKey(tid, key_id, self._provider.unwrap(wrapped, _wrap_aad(tid, key_id)))

    def rotate_kek(self, new_provider: KeyProvider) -> int:
        """Re-wrap every DEK row under ``new_provider``'s KEK; return the rows re-wrapped.

        Data is untouched. Rows already under the new KEK are skipped, so an interrupted
        rotation can be re-run. Afterwards this keyring uses ``new_provider``. Needs a role that
        row level security does not filter (it must see every tenant's keys).
        """
        self._require_all_rows("rotate_kek")
        query = self._sql(
            "SELECT tenant_id, key_id, wrapped_key, kek_id FROM {table}"
            " ORDER BY tenant_id, key_id FOR UPDATE"
        )
        updates: list[tuple[bytes, str, UUID, UUID]] = []
        for tid, key_id, wrapped, kek_id in self._conn.execute(query).fetchall():
            if kek_id == new_provider.kek_id:
                continue
            dek = self._unwrap(tid, key_id, bytes(wrapped), kek_id).dek
            rewrapped = new_provider.wrap(dek, _wrap_aad(tid, key_id))
            updates.append((rewrapped, new_provider.kek_id, tid, key_id))
        if updates:
            update = self._sql(
                "UPDATE {table} SET wrapped_key = %s, kek_id = %s"
                " WHERE tenant_id = %s AND key_id = %s"
            )
            with self._conn.cursor() as cur:
                cur.executemany(update, updates)
        self._provider = new_provider
        return len(updates)

    def _require_all_rows(self, operation: str) -> None:
        name = self._table.as_string(self._conn)
        row = self._conn.execute("SELECT row_security_active(%s::regclass)", (name,)).fetchone()
        if row is None or row[0]:
            raise CryptoError(
                f"{operation} must see every tenant's keys, but row level security filters "
                f"{self._table_name} for the current role",
                hint="run it as the key administrator (superuser or a BYPASSRLS role)",
            )

    def shred(self, tenant_id: TenantId) -> int:
        """Delete every DEK of the tenant (crypto-shredding); return the rows deleted."""
        tid = _as_uuid(tenant_id, "tenant_id")
        cur = self._conn.execute(self._sql("DELETE FROM {table} WHERE tenant_id = %s"), (tid,))
        self.clear_cache()
        _aead.cache_clear()  # the module caches are keyed by DEK: drop them all
        _blind_key.cache_clear()
        return cur.rowcount

    def clear_cache(self) -> None:
        """Forget the cached keys: needed after rolling back a transaction that changed keys."""
        self._active.clear()
        self._by_id.clear()


# --- field cipher --------------------------------------------------------------------------


class FieldCipher:
    """Encrypts, decrypts and blind-indexes fields with keys from a :class:`KeySource`."""

    __slots__ = ("_keys",)

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    def encrypt(
        self, tenant_id: TenantId, table: str, column: str, row_id: RowId, plaintext: str | bytes
    ) -> bytes:
        """Encrypt under the tenant's active key, bound to ``table.column`` of ``row_id``."""
        key = self._keys.active_key(tenant_id)
        aad = field_aad(key.tenant_id, table, column, row_id)
        return encrypt_value(key.dek, key.key_id, aad, plaintext)

    def decrypt(
        self, tenant_id: TenantId, table: str, column: str, row_id: RowId, blob: bytes
    ) -> bytes:
        """Decrypt with the key the value names; :class:`DecryptionError` if anything differs."""
        key = self._keys.key_by_id(tenant_id, ciphertext_key_id(blob))
        return decrypt_value(key.dek, field_aad(key.tenant_id, table, column, row_id), blob)

    def decrypt_text(
        self, tenant_id: TenantId, table: str, column: str, row_id: RowId, blob: bytes
    ) -> str:
        """:meth:`decrypt`, then UTF-8 decode."""
        data = self.decrypt(tenant_id, table, column, row_id, blob)
        try:
            return data.decode()
        except UnicodeDecodeError:
            raise CryptoError(
                f"{table}.{column} of row {row_id} decrypts to bytes that are not UTF-8",
                hint="it was encrypted from bytes: use decrypt()",
            ) from None

    def blind_index(self, tenant_id: TenantId, column: str, value: str) -> bytes:
        """The tenant's 32-byte blind index of ``value`` for ``column`` (active key)."""
        key = self._keys.active_key(tenant_id)
        return compute_blind_index(key.dek, column, value)
