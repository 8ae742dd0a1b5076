"""The document vault on S3-compatible storage (django-storages' S3Storage, configured by the
DOCUMENTS_S3_* settings), against a real S3 server running here (moto's server, over HTTP on a
free port): a document and its previews are stored, read back and shredded, and no object in
the bucket ever holds the plaintext."""

import socket

import pytest

from ipmart.settings.base import s3_storage
from orders.models import VerificationDocument
from orders.services.verification import shred_document, upload_document
from privacy import vault
from privacy.intake import validate_upload
from privacy.keys import new_master_key
from privacy.models import VaultFile
from tests.factories import documents as files
from tests.orders.verification_helpers import MARKER, held_order, statement_pdf

pytestmark = pytest.mark.django_db

BUCKET = "ipmart-documents-test"
CREDENTIALS = {"access_key": "test-access-key", "secret_key": "test-secret-key"}
PLAIN_MARKER = b"S3-PLAINTEXT-MARKER-91be"
S3_ENV = {
    "DOCUMENTS_S3_BUCKET": "shop-private",
    "DOCUMENTS_S3_ENDPOINT_URL": "https://s3.example.com",
    "DOCUMENTS_S3_REGION": "ap-southeast-1",
    "DOCUMENTS_S3_ACCESS_KEY_ID": "AK",
    "DOCUMENTS_S3_SECRET_ACCESS_KEY": "SK",
    "DOCUMENTS_S3_ADDRESSING_STYLE": "path",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(s3_server, settings, tmp_path):
    """A fresh private bucket, and the vault's STORAGES["documents"] pointing at it (with
    everything the settings would give it); the local vault folder must stay empty."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="ap-southeast-1",
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    )
    client.create_bucket(
        Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-southeast-1"}
    )
    settings.DOCUMENT_KEYS = [new_master_key("s3-test")]
    settings.DOCUMENT_STORAGE_DIR = tmp_path / "local-vault"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": s3_storage(
            bucket=BUCKET,
            location="vault",
            endpoint_url=s3_server,
            region="ap-southeast-1",
            addressing_style="path",
            **CREDENTIALS,
        ),
    }
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)
    assert not (tmp_path / "local-vault").exists()


def _objects(client) -> dict[str, bytes]:
    keys = [item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
    return {key: client.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def test_a_file_is_stored_read_back_and_shredded_as_ciphertext_only(bucket):
    # given a file of several chunks carrying a marker
    data = (PLAIN_MARKER + b"x" * 1000) * ((3 * vault.CHUNK_SIZE) // 1024) + PLAIN_MARKER

    # when the vault stores it
    stored = vault.store([data[:5000], data[5000:]])

    # then the bucket holds one object under the vault's prefix, ciphertext only
    objects = _objects(bucket)
    assert list(objects) == [f"vault/{stored.storage_name}"]
    assert PLAIN_MARKER not in objects[f"vault/{stored.storage_name}"]
    assert len(objects[f"vault/{stored.storage_name}"]) > len(data)
    head = bucket.head_object(Bucket=BUCKET, Key=f"vault/{stored.storage_name}")
    assert head["ContentLength"] == len(objects[f"vault/{stored.storage_name}"])
    # and it reads back whole
    assert vault.read_bytes(stored) == data

    # when it is shredded
    vault.shred(stored)

    # then the object is gone and the row keeps no key
    assert _objects(bucket) == {}
    stored.refresh_from_db()
    assert (stored.wrapped_key, stored.shredded_at is not None) == (b"", True)
    with pytest.raises(vault.VaultError):
        vault.read_bytes(stored)


def test_a_verification_document_and_its_previews_live_in_the_bucket_encrypted(bucket):
    # given a held order and a statement PDF carrying a marker
    order = held_order()
    clean = validate_upload(files.upload("statement.pdf", statement_pdf()))

    # when the customer uploads it
    document = upload_document(order, kind="card_statement", clean=clean, acting_user=order.user)

    # then the file and its rendered previews are objects in the bucket, none in plaintext
    names = {document.file.storage_name} | {
        p.file.storage_name for p in document.previews.select_related("file")
    }
    objects = _objects(bucket)
    assert len(names) >= 2
    assert set(objects) == {f"vault/{name}" for name in names}
    for blob in objects.values():
        assert MARKER.encode() not in blob
        assert b"%PDF-" not in blob and b"\x89PNG" not in blob
    # and the original reads back from the bucket
    assert vault.read_bytes(document.file).startswith(b"%PDF-")

    # when the document is shredded
    shred_document(document)

    # then the bucket is empty and every vault row is shredded
    assert _objects(bucket) == {}
    assert VaultFile.objects.filter(shredded_at__isnull=True).count() == 0
    assert VerificationDocument.objects.get(pk=document.pk).shredded_at is not None


def test_the_settings_switch_both_private_storages_to_the_bucket():
    # when the settings are read with the DOCUMENTS_S3_* variables set
    script = (
        "import django; django.setup(); from django.conf import settings;"
        " from django.core.files.storage import storages;"
        " d, e = storages['documents'], storages['exports'];"
        " print(type(d).__name__, d.bucket_name, d.location, d.endpoint_url, d.region_name,"
        " d.addressing_style, d.default_acl, d.file_overwrite, d.access_key == 'AK', e.location)"
    )
    from tests.ipmart.project_process import run

    result = run(["-c", script], {"DJANGO_SETTINGS_MODULE": "ipmart.settings.local", **S3_ENV})
    # then both are S3 storages on the bucket, private, never overwriting
    assert result.stdout.split() == [
        "S3Storage",
        "shop-private",
        "vault",
        "https://s3.example.com",
        "ap-southeast-1",
        "path",
        "private",
        "False",
        "True",
        "exports",
    ], result.stderr
    # and without the bucket the vault keeps its private folder
    result = run(
        [
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            " print('documents' in settings.STORAGES)",
        ],
        {"DJANGO_SETTINGS_MODULE": "ipmart.settings.local"},
    )
    assert result.stdout == "False\n", result.stderr


def test_production_with_the_bucket_passes_the_deployment_checks():
    from tests.ipmart.project_process import run
    from tests.ipmart.test_settings import PRODUCTION_ENV

    env = {**PRODUCTION_ENV, **S3_ENV}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.stdout == "System check identified no issues (0 silenced).\n", result.stderr
    assert result.returncode == 0
    script = (
        "import django; django.setup(); from django.conf import settings;"
        " print(settings.STORAGES['documents']['BACKEND'], sorted(settings.STORAGES))"
    )
    result = run(["-c", script], env)
    assert result.stdout == (
        "storages.backends.s3.S3Storage ['default', 'documents', 'exports', 'staticfiles']\n"
    ), result.stderr
