"""The document vault: only ciphertext on disk, chunks bound to their file and position, master
keys rotate without touching blobs, a missing or wrong key fails closed."""

import os
import stat
import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command

from privacy import vault
from privacy.keys import new_master_key
from privacy.models import VaultFile

pytestmark = pytest.mark.django_db

MARKER = b"PLAINTEXT-MARKER-7f3a"


@pytest.fixture(autouse=True)
def vault_dir(settings, tmp_path):
    settings.DOCUMENT_STORAGE_DIR = tmp_path / "vault"
    settings.DOCUMENT_KEYS = [new_master_key("k1")]
    return tmp_path / "vault"


def _blob_path(vault_dir, vault_file):
    return vault_dir / vault_file.storage_name


def _plain(size: int) -> bytes:
    return (MARKER + os.urandom(64)) * (size // (len(MARKER) + 64)) + MARKER


@pytest.mark.parametrize("size", [0, 1, vault.CHUNK_SIZE, vault.CHUNK_SIZE * 3 + 5])
def test_round_trip_at_chunk_edges(size):
    data = os.urandom(size)
    stored = vault.store(data)
    assert stored.size == size
    assert vault.read_bytes(stored) == data


def test_only_ciphertext_reaches_the_disk_with_private_modes(vault_dir):
    # given
    data = b"%PDF-1.7\n" + _plain(300_000)

    # when
    stored = vault.store([data[:1000], data[1000:]])

    # then
    raw = _blob_path(vault_dir, stored).read_bytes()
    assert MARKER not in raw and b"%PDF-" not in raw
    assert stored.storage_name == str(stored.storage_name).lower()
    assert len(stored.storage_name) == 36
    assert stat.S_IMODE(_blob_path(vault_dir, stored).stat().st_mode) == 0o600
    assert stat.S_IMODE(vault_dir.stat().st_mode) == 0o700
    with pytest.raises(ValueError):
        vault.document_storage().url(stored.storage_name)


def _tampered(vault_dir, stored, change):
    path = _blob_path(vault_dir, stored)
    path.write_bytes(change(path.read_bytes()))
    with pytest.raises(vault.VaultError):
        vault.read_bytes(stored)


def test_a_flipped_bit_fails(vault_dir):
    stored = vault.store(_plain(200_000))
    _tampered(vault_dir, stored, lambda b: b[:500] + bytes([b[500] ^ 1]) + b[501:])


def test_a_dropped_last_chunk_fails(vault_dir):
    stored = vault.store(_plain(vault.CHUNK_SIZE * 2 + 10))
    step = vault.CHUNK_SIZE + vault.TAG_BYTES
    _tampered(vault_dir, stored, lambda b: b[: vault.HEADER_BYTES + 2 * step])


def test_a_truncation_at_a_chunk_boundary_fails(vault_dir):
    stored = vault.store(_plain(vault.CHUNK_SIZE * 3))
    step = vault.CHUNK_SIZE + vault.TAG_BYTES
    _tampered(vault_dir, stored, lambda b: b[: vault.HEADER_BYTES + step])


def test_swapped_chunks_fail(vault_dir):
    stored = vault.store(_plain(vault.CHUNK_SIZE * 3))
    step = vault.CHUNK_SIZE + vault.TAG_BYTES
    h = vault.HEADER_BYTES

    def swap(b):
        return b[:h] + b[h + step : h + 2 * step] + b[h : h + step] + b[h + 2 * step :]

    _tampered(vault_dir, stored, swap)


def test_a_blob_moved_to_another_file_fails(vault_dir):
    first, second = vault.store(_plain(1000)), vault.store(_plain(1000))
    _blob_path(vault_dir, second).write_bytes(_blob_path(vault_dir, first).read_bytes())
    with pytest.raises(vault.VaultError):
        vault.read_bytes(second)


def test_no_nonce_is_reused_across_many_files(vault_dir):
    headers = set()
    for _ in range(300):
        stored = vault.store(b"x")
        headers.add(_blob_path(vault_dir, stored).read_bytes()[: vault.HEADER_BYTES])
    # each file has its own data key and nonce prefix
    assert len(headers) == 300
    assert len(set(VaultFile.objects.values_list("wrapped_key", flat=True))) == 300


def test_rotation_rewraps_keys_and_old_key_can_go(settings, vault_dir, capsys):
    # given documents under the old key
    old = settings.DOCUMENT_KEYS[0]
    files = [vault.store(_plain(5000 + n)) for n in range(5)]
    blobs_before = {f.pk: _blob_path(vault_dir, f).read_bytes() for f in files}
    plain_before = {f.pk: vault.read_bytes(f) for f in files}

    # when a new key is deployed first, old still present, they still open
    settings.DOCUMENT_KEYS = [new_master_key("k2"), old]
    assert all(vault.read_bytes(f) == plain_before[f.pk] for f in files)
    call_command("rotate_document_keys", "--batch-size", "2")
    call_command("rotate_document_keys")

    # then every row is under k2, the second run changed nothing, blobs are byte-identical
    out = capsys.readouterr().out
    assert "5 data key(s) re-wrapped under k2." in out
    assert "0 data key(s) re-wrapped under k2." in out
    assert set(VaultFile.objects.values_list("key_id", flat=True)) == {"k2"}
    assert {f.pk: _blob_path(vault_dir, f).read_bytes() for f in files} == blobs_before

    # and after removing the old key they still open
    settings.DOCUMENT_KEYS = [settings.DOCUMENT_KEYS[0]]
    for f in VaultFile.objects.all():
        assert vault.read_bytes(f) == plain_before[f.pk]


def test_missing_or_wrong_key_fails_closed(settings):
    stored = vault.store(b"secret bytes")
    settings.DOCUMENT_KEYS = [new_master_key("other")]
    with pytest.raises(vault.VaultKeyError, match="not configured"):
        vault.read_bytes(stored)
    settings.DOCUMENT_KEYS = [new_master_key("k1")]  # same id, different key
    with pytest.raises(vault.VaultKeyError, match="does not open"):
        vault.read_bytes(stored)
    settings.DOCUMENT_KEYS = []
    with pytest.raises(vault.VaultKeyError):
        vault.store(b"x")


def test_shredding_deletes_the_blob_and_the_key(vault_dir):
    stored = vault.store(MARKER)
    vault.shred(stored)
    stored.refresh_from_db()
    assert stored.shredded_at is not None and bytes(stored.wrapped_key) == b""
    assert not _blob_path(vault_dir, stored).exists()
    with pytest.raises(vault.VaultError):
        vault.read_bytes(stored)


def test_a_10_mb_file_is_encrypted_and_read_in_bounded_memory(tmp_path):
    """Fresh process: peak RSS growth while storing and reading 10 MB stays under 40 MB."""
    script = textwrap.dedent(
        """
        import os, resource, django
        os.environ["DJANGO_SETTINGS_MODULE"] = "ipmart.settings.test"
        django.setup()
        from django.conf import settings
        from privacy import vault
        settings.DOCUMENT_STORAGE_DIR = os.environ["VAULT_DIR"]
        def pieces():
            block = os.urandom(64 * 1024)
            for _ in range(160):
                yield block
        import privacy.vault as v
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        AESGCM(os.urandom(32)).encrypt(os.urandom(12), b"warm", None)
        start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # no database row: exercise the stream and storage only
        data_key = AESGCM.generate_key(bit_length=256)
        counter = [0]
        reader = __import__("io").BufferedReader(
            v._IteratorReader(v._encrypt_stream(pieces(), data_key, "n", counter)))
        from django.core.files import File
        v.document_storage().save("n", File(reader, name="n"))
        blob = v.document_storage().open("n", "rb")
        total = sum(len(c) for c in v._decrypt_blob(blob, AESGCM(data_key), "n"))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(total, (peak - start) // 1024)
        """
    )
    env = {**os.environ, "VAULT_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    total, growth_mb = map(int, result.stdout.split())
    assert total == 160 * 64 * 1024
    assert growth_mb < 40
