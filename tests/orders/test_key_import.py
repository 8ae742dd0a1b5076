"""Licence-key imports: all or nothing, duplicates named, only for licences, and only by staff
allowed to add keys (store managers), through the admin's import page."""

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.catalogue import VERSION_KEY, catalogue_version
from orders.models import LicenceKey, LicenceKeyStatus
from orders.services.catalogue import KeyImportError, import_licence_keys
from tests.factories import (
    CustomerFactory,
    LicenceKeyFactory,
    ProductFactory,
    StaffFactory,
    enrolled_in_mfa,
    staff_client,
)

pytestmark = pytest.mark.django_db


def _keys(product) -> list[str]:
    return list(
        LicenceKey.objects.filter(product=product).order_by("id").values_list("key", flat=True)
    )


# --- the service


def test_imports_every_key_in_the_file():
    # given
    product = ProductFactory(licence=True)
    data = b"AAAAA-11111-XYZ01\nAAAAA-11111-XYZ02\r\nAAAAA-11111-XYZ03\n"
    # when
    added = import_licence_keys(product, data=data, acting_user=None)
    # then
    assert added == 3
    assert _keys(product) == ["AAAAA-11111-XYZ01", "AAAAA-11111-XYZ02", "AAAAA-11111-XYZ03"]
    assert set(LicenceKey.objects.filter(product=product).values_list("status", flat=True)) == {
        LicenceKeyStatus.AVAILABLE
    }


@pytest.mark.parametrize("header", [b"key", b"Key", b"licence key", b"License Key"])
def test_a_header_row_is_skipped(header):
    # given
    product = ProductFactory(licence=True)
    # when
    added = import_licence_keys(product, data=header + b"\nK-0001\nK-0002\n", acting_user=None)
    # then
    assert added == 2
    assert _keys(product) == ["K-0001", "K-0002"]


def test_blank_lines_spaces_and_a_utf8_bom_are_ignored():
    # given
    product = ProductFactory(licence=True)
    # when
    added = import_licence_keys(
        product, data=b"\xef\xbb\xbfkey\n  K-0001  \n\n,\nK-0002\n", acting_user=None
    )
    # then
    assert added == 2
    assert _keys(product) == ["K-0001", "K-0002"]


def test_a_key_repeated_in_the_file_imports_nothing_and_is_named():
    # given a pool with one key and a file repeating another
    product = ProductFactory(licence=True)
    LicenceKeyFactory(product=product, key="EXISTING-000001")
    data = b"NEW-KEY-AAAAAA\nREPEATED-BBBBBB\nREPEATED-BBBBBB\n"
    # when / then
    with pytest.raises(KeyImportError) as error:
        import_licence_keys(product, data=data, acting_user=None)
    assert str(error.value) == "Nothing imported: 1 duplicate key(s): …BBBBBB."
    assert _keys(product) == ["EXISTING-000001"]


def test_a_key_already_in_the_pool_imports_nothing_and_is_named():
    # given
    product = ProductFactory(licence=True)
    LicenceKeyFactory(product=product, key="EXISTING-000001")
    LicenceKeyFactory(product=product, key="EXISTING-000002")
    data = b"key\nNEW-KEY-AAAAAA\nEXISTING-000002\nEXISTING-000001\n"
    # when / then
    with pytest.raises(KeyImportError) as error:
        import_licence_keys(product, data=data, acting_user=None)
    assert str(error.value) == "Nothing imported: 2 duplicate key(s): …000001, …000002."
    assert _keys(product) == ["EXISTING-000001", "EXISTING-000002"]


def test_many_duplicates_name_five_and_count_the_rest():
    # given
    product = ProductFactory(licence=True)
    LicenceKey.objects.bulk_create(
        [LicenceKey(product=product, key=f"DUP-{n:06d}") for n in range(7)]
    )
    data = "\n".join(f"DUP-{n:06d}" for n in range(7)).encode()
    # when / then
    with pytest.raises(KeyImportError) as error:
        import_licence_keys(product, data=data, acting_user=None)
    assert str(error.value) == (
        "Nothing imported: 7 duplicate key(s): "
        "…000000, …000001, …000002, …000003, …000004 (and 2 more)."
    )
    assert LicenceKey.objects.filter(product=product).count() == 7


def test_the_same_key_in_another_products_pool_is_not_a_duplicate():
    # given
    product, other = ProductFactory(licence=True), ProductFactory(licence=True)
    LicenceKeyFactory(product=other, key="SHARED-KEY-0001")
    # when / then
    assert import_licence_keys(product, data=b"SHARED-KEY-0001\n", acting_user=None) == 1
    assert _keys(product) == ["SHARED-KEY-0001"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfeK\x00E\x00Y\x00", "The file is not UTF-8 text (CSV)."),
        ("K-0001\nKÉY-é\n".encode("latin-1"), "The file is not UTF-8 text (CSV)."),
        (b"", "The file holds no keys."),
        (b"\n\n  \n", "The file holds no keys."),
        (b"key\n", "The file holds no keys."),
        (b"K-0001\nK-0002,K-0003\n", "Line 2 has more than one value; put one key per line."),
        (b"K-0001\n" + b"X" * 201 + b"\n", "Line 2 is longer than 200 characters."),
        (b"K\n" * (1024 * 1024 + 1), "The file is larger than 2 MB."),
    ],
)
def test_unreadable_or_empty_files_are_refused_and_nothing_is_imported(data, message):
    # given
    product = ProductFactory(licence=True)
    LicenceKeyFactory(product=product, key="EXISTING-000001")
    # when / then
    with pytest.raises(KeyImportError) as error:
        import_licence_keys(product, data=data, acting_user=None)
    assert str(error.value) == message
    assert _keys(product) == ["EXISTING-000001"]


def test_a_physical_product_has_no_keys():
    # given
    product = ProductFactory(stock=3)
    # when / then
    with pytest.raises(KeyImportError, match=r"^Only software licences have licence keys\.$"):
        import_licence_keys(product, data=b"K-0001\n", acting_user=None)
    assert LicenceKey.objects.count() == 0


def test_an_import_refreshes_cached_listings_after_commit(django_capture_on_commit_callbacks):
    # given
    product = ProductFactory(licence=True)
    before = catalogue_version()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        import_licence_keys(product, data=b"K-0001\n", acting_user=None)
    # then
    assert catalogue_version() == before + 1


def test_a_refused_import_leaves_the_cache_version_alone(django_capture_on_commit_callbacks):
    from django.core.cache import cache

    # given
    product = ProductFactory(licence=True)
    before = catalogue_version()
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(KeyImportError):
            import_licence_keys(product, data=b"K\nK\n", acting_user=None)
    # then
    assert callbacks == []
    assert cache.get(VERSION_KEY) == before


# --- the admin page


def _url(product) -> str:
    return f"/admin/orders/product/{product.pk}/import-keys/"


def _upload(content: bytes, name: str = "keys.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def manager():
    return enrolled_in_mfa(StaffFactory(role="store manager"))


def test_a_store_manager_sees_the_import_form(client, manager):
    # given
    product = ProductFactory(licence=True, name="PDF Studio")
    client.force_login(manager)
    # when
    response = client.get(_url(product))
    # then
    assert response.status_code == 200
    assert "Import licence keys for PDF Studio" in response.content.decode()


def test_a_store_manager_imports_a_file(client, manager):
    # given
    product = ProductFactory(licence=True, name="PDF Studio")
    client.force_login(manager)
    # when
    response = client.post(_url(product), {"file": _upload(b"key\nK-0001\nK-0002\nK-0003\n")})
    # then
    assert response.status_code == 302
    assert response["Location"] == "/admin/orders/product/"
    assert _keys(product) == ["K-0001", "K-0002", "K-0003"]
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["3 keys added to PDF Studio."]


def test_a_file_with_duplicates_shows_them_and_imports_nothing(client, manager):
    # given
    product = ProductFactory(licence=True)
    LicenceKeyFactory(product=product, key="EXISTING-000001")
    client.force_login(manager)
    # when
    response = client.post(_url(product), {"file": _upload(b"NEW-KEY-000009\nEXISTING-000001\n")})
    # then
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Nothing imported: 1 duplicate key(s): …000001."
    ]
    assert _keys(product) == ["EXISTING-000001"]


def test_a_non_utf8_file_is_refused_on_the_page(client, manager):
    # given
    product = ProductFactory(licence=True)
    client.force_login(manager)
    # when
    response = client.post(_url(product), {"file": _upload("KÉY-1\n".encode("latin-1"))})
    # then
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == ["The file is not UTF-8 text (CSV)."]
    assert LicenceKey.objects.count() == 0


def test_an_empty_upload_is_a_form_error(client, manager):
    # given
    product = ProductFactory(licence=True)
    client.force_login(manager)
    # when
    response = client.post(_url(product), {"file": _upload(b"")})
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["The submitted file is empty."]}
    assert LicenceKey.objects.count() == 0


def test_importing_into_a_physical_product_is_refused_on_the_page(client, manager):
    # given
    product = ProductFactory(stock=3)
    client.force_login(manager)
    # when
    response = client.post(_url(product), {"file": _upload(b"K-0001\n")})
    # then
    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Only software licences have licence keys."
    ]
    assert LicenceKey.objects.count() == 0


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_support_agent_may_not_import(method):
    # given a view-only staff member with TOTP
    product = ProductFactory(licence=True)
    client = staff_client("support agent")[1]
    # when
    response = getattr(client, method)(
        _url(product), {"file": _upload(b"K-0001\n")} if method == "post" else {}
    )
    # then
    assert response.status_code == 403
    assert LicenceKey.objects.count() == 0


@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_anonymous_visitors_and_customers_are_sent_to_log_in(client, who):
    # given
    product = ProductFactory(licence=True)
    if who == "customer":
        client.force_login(CustomerFactory())
    # when
    response = client.post(_url(product), {"file": _upload(b"K-0001\n")})
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={_url(product)}"
    assert LicenceKey.objects.count() == 0


def test_a_store_manager_without_totp_is_sent_to_enrol(client):
    # given
    product = ProductFactory(licence=True)
    client.force_login(StaffFactory(role="store manager"))
    # when
    response = client.post(_url(product), {"file": _upload(b"K-0001\n")})
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate")
    assert LicenceKey.objects.count() == 0
