"""Download my data: after re-entering the password, a task (through the outbox) builds a zip
with one JSON file per app and a README; the owner is emailed a link that works only for them
for DATA_EXPORT_EXPIRY_DAYS."""

import datetime
import io
import json
import zipfile
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from privacy import registry, vault
from privacy.exports import build_archive, open_archive
from privacy.keys import new_master_key
from privacy.models import DataExport, DataExportStatus, DataRequest
from privacy.retention import delete_expired_exports
from privacy.rights import request_export
from tests.factories import CustomerFactory
from tests.factories.accounts import PASSWORD
from tests.factories.personal_data import customer_with_data_everywhere

pytestmark = pytest.mark.django_db

# Rows that cannot exist for a customer whose account is open (they are written by closure).
ONLY_AFTER_CLOSURE = {"privacy.AccountClosure", "privacy.ClosureNotice"}


@pytest.fixture(autouse=True)
def vault_dir(settings, tmp_path):
    """A vault folder of the test's own, and the former exports storage on disk too, so
    scanning them sees only this test's files."""
    settings.DOCUMENT_STORAGE_DIR = tmp_path / "vault"
    settings.STORAGES = {
        **settings.STORAGES,
        "exports": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path / "exports", "base_url": None},
        },
    }
    return tmp_path / "vault"


def stored_bytes(settings) -> list[tuple[str, bytes]]:
    """Every file in the vault's folder and in the (former) exports folder."""
    folders = [settings.DOCUMENT_STORAGE_DIR, settings.STORAGES["exports"]["OPTIONS"]["location"]]
    found = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                found.append((str(path), path.read_bytes()))
    return found


def read_archive(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_archive_holds_every_declared_field_of_every_app_and_nobody_elses_data():
    # given a customer with data in every app, and another one
    person = customer_with_data_everywhere("aina")
    other = customer_with_data_everywhere("bunga")
    # when
    files = read_archive(build_archive(person.user))
    # then one JSON file per app with a README, and the person's own document, decrypted
    apps_with_data = [app.app_label for app in registry.discover()]
    data_files = sorted(name for name in files if not name.startswith("files/"))
    assert data_files == sorted(["README.txt", *(f"{label}.json" for label in apps_with_data)])
    kept = sorted(name for name in files if name.startswith("files/"))
    assert [name.rsplit("-", 1)[1] for name in kept] == ["identity.png", "receipt.png"]
    assert kept[0].startswith("files/orders/") and kept[1].startswith("files/support/")
    assert files[kept[0]].startswith(b"\x89PNG\r\n\x1a\n")  # decrypted from the vault
    documents = {name: json.loads(data) for name, data in files.items() if name.endswith(".json")}
    for declaration in registry.declarations():
        if declaration.model_label in ONLY_AFTER_CLOSURE:
            continue
        app_label, model_name = declaration.model_label.split(".")
        document = documents[f"{declaration.app_label}.json"]
        assert document["format"] == "ipmart-personal-data"
        records = document["records"][model_name]
        assert records, f"no {declaration.model_label} rows exported"
        for row in records:
            assert set(declaration.fields) <= set(row), declaration.model_label
    # and the person's own data is there, the other customer's is not
    text = b"".join(data for name, data in files.items() if not name.startswith("files/")).decode()
    assert person.email in text and person.full_name in text and person.address_lines[0] in text
    assert person.order_numbers[0] in text
    for needle in other.needles + other.order_numbers:
        assert needle not in text
    # and the README explains it in plain words
    readme = files["README.txt"].decode()
    assert "orders.json" in readme and "Your address book" in readme


def test_the_archive_is_machine_readable_json_with_a_fixed_shape():
    person = customer_with_data_everywhere("cempaka")
    files = read_archive(build_archive(person.user))
    for name, data in files.items():
        if name.endswith(".json"):
            document = json.loads(data)
            assert set(document) == {"format", "version", "app", "exported_at", "records"}
            assert all(
                isinstance(rows, list) and all(isinstance(row, dict) for row in rows)
                for rows in document["records"].values()
            )


def _reauthenticate(client, path):
    response = client.post(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    return client.post(response["Location"], {"password": PASSWORD})


def test_a_customer_asks_for_their_data_and_downloads_it_once_reauthenticated(
    client, django_capture_on_commit_callbacks
):
    # given
    person = customer_with_data_everywhere("dahlia")
    DataExport.objects.all().delete()
    client.force_login(person.user)
    # when they ask: allauth asks for the password first, then the suspended request runs
    with django_capture_on_commit_callbacks(execute=True):
        response = _reauthenticate(client, "/account/privacy/export/")
    # then the export is built by the task, the request is done, and a link is emailed
    assert response.status_code == 302
    export = DataExport.objects.get(user=person.user)
    assert export.status == DataExportStatus.READY
    assert export.expires_at - export.ready_at == datetime.timedelta(days=7)
    assert DataRequest.objects.get(pk=export.request_id).status == "done"
    link = f"/account/privacy/export/{export.public_id}/"
    assert [message.to for message in mail.outbox] == [[person.email]]
    assert link in mail.outbox[0].body
    # when the owner follows it
    download = client.get(link)
    # then they get the zip, decrypted as it streams, as an attachment, never cached or sniffed
    assert download.status_code == 200
    assert download.streaming
    assert download["Content-Type"] == "application/zip"
    assert download["Cache-Control"] == "no-store"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"] == 'attachment; filename="ipmart-my-data.zip"'
    body = b"".join(download.streaming_content)
    assert "README.txt" in read_archive(body)
    assert int(download["Content-Length"]) == len(body) == export.size_bytes
    # and the archive is kept encrypted in the vault, never in plaintext
    assert export.vault_file is not None and not export.vault_file.is_shredded


def test_the_stored_archive_is_ciphertext_only(settings, django_capture_on_commit_callbacks):
    # given a customer whose data carries a marker
    person = customer_with_data_everywhere("mawar")
    marker = person.email.encode()
    DataExport.objects.all().delete()
    # when their archive is built
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(person.user)
    export.refresh_from_db()
    archive = b"".join(open_archive(export))
    assert marker in b"".join(read_archive(archive).values())
    # then no file in the storage folders holds the marker, a zip signature or a member name
    found = stored_bytes(settings)
    assert str(settings.DOCUMENT_STORAGE_DIR / export.vault_file.storage_name) in dict(found)
    for path, data in found:
        assert data.startswith(vault.MAGIC), path
        for plaintext in (marker, b"PK\x03\x04", b"README.txt", b"privacy.json"):
            assert plaintext not in data, (path, plaintext)


@pytest.mark.parametrize("keys", ["missing", "wrong"])
def test_a_missing_or_wrong_key_fails_closed(
    client, settings, keys, django_capture_on_commit_callbacks
):
    owner = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(owner)
    export.refresh_from_db()
    # when the master key that wrapped the archive is gone, or replaced by another of its id
    settings.DOCUMENT_KEYS = [] if keys == "missing" else [new_master_key("test-1")]
    client.force_login(owner)
    client.raise_request_exception = False
    response = client.get(f"/account/privacy/export/{export.public_id}/")
    # then no byte of the archive is served
    assert response.status_code == 500
    assert not getattr(response, "streaming", False)
    assert b"README" not in response.content
    with pytest.raises(vault.VaultKeyError):
        open_archive(export)


def test_without_reauthentication_nothing_is_prepared(client):
    person = CustomerFactory()
    client.force_login(person)
    response = client.post("/account/privacy/export/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert DataExport.objects.count() == 0


def test_a_double_click_prepares_one_export(django_capture_on_commit_callbacks):
    person = CustomerFactory()
    first = request_export(person)
    second = request_export(person)
    assert first.pk == second.pk
    assert DataRequest.objects.filter(user=person).count() == 1


@pytest.mark.parametrize("who", ["anonymous", "another customer", "staff"])
def test_the_link_works_only_for_its_owner(client, who, django_capture_on_commit_callbacks):
    from tests.factories import StaffFactory

    owner = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(owner)
    export.refresh_from_db()
    link = f"/account/privacy/export/{export.public_id}/"
    if who == "another customer":
        client.force_login(CustomerFactory())
    elif who == "staff":
        client.force_login(StaffFactory(role="data protection officer", is_superuser=True))
    response = client.get(link)
    if who == "anonymous":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 404


def test_after_expiry_the_link_is_dead_and_retention_shreds_the_archive(
    client, settings, django_capture_on_commit_callbacks
):
    owner = CustomerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        export = request_export(owner)
    export.refresh_from_db()
    vault_file = export.vault_file
    assert (settings.DOCUMENT_STORAGE_DIR / vault_file.storage_name).exists()
    later = timezone.now() + datetime.timedelta(days=7, minutes=1)
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    client.force_login(owner)
    assert client.get(f"/account/privacy/export/{export.public_id}/").status_code == 404
    assert delete_expired_exports(now=later, dry_run=False) == [f"data export {export.pk}"]
    export.refresh_from_db()
    assert (export.status, export.vault_file) == (DataExportStatus.EXPIRED, None)
    vault_file.refresh_from_db()
    assert vault_file.is_shredded and bytes(vault_file.wrapped_key) == b""
    assert stored_bytes(settings) == []
    with pytest.raises(vault.VaultError):
        vault.read_bytes(vault_file)
