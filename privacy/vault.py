"""The document vault: files encrypted by the store before they reach any storage.

Format of a blob (only ciphertext is ever written):

    b"IPMV1" | 8-byte random nonce prefix | chunk 0 | chunk 1 | ... | last chunk

Each chunk is AES-256-GCM of up to CHUNK_SIZE plaintext bytes (plus its 16-byte tag) under the
file's own data key, with the nonce `prefix | chunk index (4 bytes)` and, as associated data, the
storage name, the chunk index and a "last chunk" flag. So a chunk that is flipped, swapped,
dropped, appended, cut off at the end or moved to another file fails to decrypt; memory stays at
about one chunk whatever the file's size.

The data key (random per file) is wrapped with AES-256-GCM by a master key from `DOCUMENT_KEYS`
(newest first, each `key-id:base64 key`) and kept in the `privacy.VaultFile` row with the key's
id; rotating master keys (`manage.py rotate_document_keys`) rewrites only that row. A master key
that is missing or wrong raises VaultKeyError: the vault fails closed and never returns bytes it
could not authenticate.

Blobs go through Django's storage API: `STORAGES["documents"]` when the settings define it (an
S3-compatible bucket through django-storages, say), else a private folder (`DOCUMENT_STORAGE_DIR`)
that is never served and has no URL.
"""

from __future__ import annotations

import io
import os
import struct
import uuid
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.utils import timezone

from .keys import KEY_BYTES, MasterKey, new_master_key, parse_master_keys  # noqa: F401
from .models import VaultFile

MAGIC = b"IPMV1"
PREFIX_BYTES = 8
HEADER_BYTES = len(MAGIC) + PREFIX_BYTES
CHUNK_SIZE = 64 * 1024
TAG_BYTES = 16


class VaultError(Exception):
    """A blob that cannot be read as written (tampered, truncated, missing)."""


class VaultKeyError(VaultError):
    """A master key that is not configured or does not open the data key."""


class PrivateFileStorage(FileSystemStorage):
    """A folder outside the web root: files 0600, folders 0700, and no URL at all."""

    def __init__(self, location=None, **kwargs):
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(location=location, base_url=None, **kwargs)

    def url(self, name):
        raise ValueError("vault files have no URL; they are served through a checked view")


def document_storage() -> Storage:
    if "documents" in settings.STORAGES:
        return storages["documents"]
    return PrivateFileStorage(location=settings.DOCUMENT_STORAGE_DIR)


# --- Master keys ---------------------------------------------------------------------------


def master_keys() -> list[MasterKey]:
    keys = parse_master_keys(settings.DOCUMENT_KEYS)
    if not keys:
        raise VaultKeyError("No document master key is configured (DOCUMENT_KEYS).")
    return keys


def _key_aad(key_id: str, storage_name: str) -> bytes:
    return f"ipmart-vault-dek|{key_id}|{storage_name}".encode()


def _wrap(data_key: bytes, master: MasterKey, storage_name: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(master.secret).encrypt(
        nonce, data_key, _key_aad(master.key_id, storage_name)
    )


def _unwrap(vault_file: VaultFile) -> bytes:
    if vault_file.is_shredded:
        raise VaultError(f"vault file {vault_file.pk} was shredded")
    master = next((k for k in master_keys() if k.key_id == vault_file.key_id), None)
    if master is None:
        raise VaultKeyError(
            f"master key {vault_file.key_id!r} of vault file {vault_file.pk} is not configured"
        )
    wrapped = bytes(vault_file.wrapped_key)
    try:
        return AESGCM(master.secret).decrypt(
            wrapped[:12], wrapped[12:], _key_aad(master.key_id, vault_file.storage_name)
        )
    except InvalidTag as error:
        raise VaultKeyError(
            f"master key {vault_file.key_id!r} does not open vault file {vault_file.pk}"
        ) from error


# --- Chunks --------------------------------------------------------------------------------


def _chunk_aad(storage_name: str, index: int, last: bool) -> bytes:
    return storage_name.encode() + struct.pack(">QB", index, 1 if last else 0)


def _rechunk(pieces: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Cut `pieces` into `size`-byte chunks (the last possibly shorter, possibly empty),
    without copying large pieces (memoryview slices)."""
    buffer = bytearray()
    for piece in pieces:
        view = memoryview(piece)
        if buffer:
            need = size - len(buffer)
            buffer += view[:need]
            view = view[need:]
            if len(buffer) < size:
                continue
            yield bytes(buffer)
            buffer = bytearray()
        while len(view) >= size:
            yield view[:size]
            view = view[size:]
        buffer += view
    yield bytes(buffer)  # possibly empty: the last chunk always exists


def _encrypt_stream(
    pieces: Iterable[bytes], data_key: bytes, storage_name: str, counter: list[int]
) -> Iterator[bytes]:
    aead = AESGCM(data_key)
    prefix = os.urandom(PREFIX_BYTES)
    yield MAGIC + prefix
    chunks = _rechunk(pieces, CHUNK_SIZE)
    current = next(chunks)
    index = 0
    for following in chunks:
        if not following and len(current) == CHUNK_SIZE:
            break  # the empty tail after a full chunk: the full one is the last
        counter[0] += len(current)
        nonce = prefix + struct.pack(">I", index)
        yield aead.encrypt(nonce, current, _chunk_aad(storage_name, index, False))
        current, index = following, index + 1
    counter[0] += len(current)
    nonce = prefix + struct.pack(">I", index)
    yield aead.encrypt(nonce, current, _chunk_aad(storage_name, index, True))


class _CiphertextFile(File):
    """What Storage.save gets: `chunks()` hands the ciphertext chunks straight to a storage
    that writes chunks (the filesystem); `read()` serves one that reads (S3 uploads)."""

    def __init__(self, iterator: Iterator[bytes], name: str):
        self._iterator = iterator
        super().__init__(io.BufferedReader(_IteratorReader(iterator), CHUNK_SIZE), name=name)

    def chunks(self, chunk_size=None):
        yield from self._iterator


class _IteratorReader(io.RawIOBase):
    """A read-only, non-seekable file over an iterator of bytes (for Storage.save)."""

    def __init__(self, iterator: Iterator[bytes]):
        self._iterator = iterator
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._iterator)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def store(pieces: bytes | Iterable[bytes]) -> VaultFile:
    """Encrypt `pieces` (bytes, or an iterable of bytes) into a new blob under a generated name
    and record it. Only ciphertext reaches the storage. If recording fails, the blob is
    deleted. The caller deletes the blob (`delete_blob`) if its own transaction rolls back."""
    if isinstance(pieces, bytes | bytearray | memoryview):
        pieces = [bytes(pieces)]
    master = master_keys()[0]
    data_key = AESGCM.generate_key(bit_length=256)
    storage_name = str(uuid.uuid4())
    counter = [0]
    storage = document_storage()
    stream = _encrypt_stream(pieces, data_key, storage_name, counter)
    saved = storage.save(storage_name, _CiphertextFile(stream, storage_name))
    if saved != storage_name:
        storage.delete(saved)
        raise VaultError("the storage renamed a vault blob")
    try:
        return VaultFile.objects.create(
            storage_name=storage_name,
            key_id=master.key_id,
            wrapped_key=_wrap(data_key, master, storage_name),
            size=counter[0],
        )
    except BaseException:
        storage.delete(storage_name)
        raise


def open_chunks(vault_file: VaultFile) -> Iterator[bytes]:
    """Decrypt the blob chunk by chunk. Each chunk is authenticated before it is yielded;
    anything wrong raises VaultError (VaultKeyError for keys) before the first byte if the key
    is the problem. For bytes served to a person, prefer `read_bytes` (all or nothing)."""
    data_key = _unwrap(vault_file)
    aead = AESGCM(data_key)
    name = vault_file.storage_name
    storage = document_storage()
    try:
        blob = storage.open(name, "rb")
    except FileNotFoundError as error:
        raise VaultError(f"vault file {vault_file.pk} has no blob") from error
    return _decrypt_blob(blob, aead, name)


def _decrypt_blob(blob, aead: AESGCM, name: str) -> Iterator[bytes]:
    with blob:
        header = blob.read(HEADER_BYTES)
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
            raise VaultError("not a vault blob")
        prefix = header[len(MAGIC) :]
        block = blob.read(CHUNK_SIZE + TAG_BYTES)
        index = 0
        while True:
            following = blob.read(CHUNK_SIZE + TAG_BYTES)
            last = not following
            try:
                plain = aead.decrypt(
                    prefix + struct.pack(">I", index), block, _chunk_aad(name, index, last)
                )
            except InvalidTag as error:
                raise VaultError(f"vault blob chunk {index} failed authentication") from error
            yield plain
            if last:
                return
            block, index = following, index + 1


def read_bytes(vault_file: VaultFile, *, limit: int = 64 * 1024 * 1024) -> bytes:
    """The whole plaintext, or VaultError: nothing is returned unless every chunk checked out."""
    out = bytearray()
    for chunk in open_chunks(vault_file):
        out += chunk
        if len(out) > limit:
            raise VaultError("vault file larger than the read limit")
    return bytes(out)


def delete_blob(storage_name: str) -> None:
    document_storage().delete(storage_name)


def shred(vault_file: VaultFile) -> None:
    """Crypto-shred: forget the wrapped data key and delete the blob. Keeps the row (id, size,
    dates) as the record that it existed. Idempotent."""
    if vault_file.is_shredded:
        return
    VaultFile.objects.filter(pk=vault_file.pk).update(wrapped_key=b"", shredded_at=timezone.now())
    vault_file.wrapped_key, vault_file.shredded_at = b"", timezone.now()
    delete_blob(vault_file.storage_name)


def rewrap(vault_file: VaultFile) -> bool:
    """Wrap the file's data key under the newest master key (rotation). Returns False when it
    already is. The blob is not touched. The caller holds the row lock."""
    newest = master_keys()[0]
    if vault_file.is_shredded or vault_file.key_id == newest.key_id:
        return False
    data_key = _unwrap(vault_file)
    vault_file.wrapped_key = _wrap(data_key, newest, vault_file.storage_name)
    vault_file.key_id = newest.key_id
    vault_file.rewrapped_at = timezone.now()
    vault_file.save(update_fields=["wrapped_key", "key_id", "rewrapped_at"])
    return True
