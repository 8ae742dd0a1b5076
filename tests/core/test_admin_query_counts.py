"""Every admin changelist (and its search) makes the same number of queries with 10 rows and
with 1,000 rows: no query per row, as the store's own pages."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.roles import ROLE_PERMISSIONS
from tests.factories import staff_client

from .admin_rows import ROW_MAKERS

pytestmark = pytest.mark.django_db

REGISTERED = sorted(model._meta.label for model in admin.site._registry)


def test_every_admin_model_has_a_row_maker():
    assert sorted(ROW_MAKERS) == REGISTERED


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize("label", REGISTERED)
@pytest.mark.parametrize("as_role", [None, *sorted(ROLE_PERMISSIONS)])
def test_a_changelist_and_its_search_are_a_fixed_number_of_queries(label, as_role):
    # given the page as a superuser (every column) or each role (role-aware columns)
    model = next(m for m in admin.site._registry if m._meta.label == label)
    model_admin = admin.site._registry[model]
    if as_role:
        user, client = staff_client(as_role)
        if not model_admin.has_view_or_change_permission(_request_for(user)):
            pytest.skip(f"{as_role} cannot open {label}")
    else:
        client = staff_client(is_superuser=True)[1]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    urls = [url]
    if model_admin.search_fields:
        urls.append(url + "?q=bulk")
    # when the table holds 10 rows, then 1,000
    ROW_MAKERS[label](10)
    client.get(url)  # a staff session's first request stamps its start (one session write)
    small = [_queries(client, u) for u in urls]
    ROW_MAKERS[label](990)
    large = [_queries(client, u) for u in urls]
    # then
    assert large == small


def _request_for(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
