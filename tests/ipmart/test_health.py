"""/healthz (the process answers) and /readyz (the database and the Celery broker answer)."""

import copy

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

from ipmart.celery import app as celery_app
from ipmart.core import health

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_at(settings, monkeypatch):
    """Run Celery against a real broker URL: the Django setting for the health view, and the
    Celery app's configuration, which was read from Django's settings once at startup."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)

    def point(url: str) -> None:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        settings.CELERY_BROKER_URL = url
        monkeypatch.setitem(celery_app.conf, "broker_url", url)

    return point


@pytest.fixture
def unreachable_database(monkeypatch, tmp_path):
    """The health view's connection, pointed where no database answers: a closed port for
    PostgreSQL, a file in a folder that does not exist for SQLite."""
    default = connections[DEFAULT_DB_ALIAS]
    settings_dict = copy.deepcopy(default.settings_dict)
    if default.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / "no-such-folder" / "db.sqlite3")
    else:
        settings_dict["HOST"], settings_dict["PORT"] = "127.0.0.1", "1"
    broken = type(default)(settings_dict, alias="unreachable")
    monkeypatch.setattr(health, "connection", broken)
    yield broken
    broken.close()


def test_healthz_answers_ok_without_a_database_query(client, django_assert_num_queries):
    # when
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_even_when_the_database_is_down(client, unreachable_database):
    # when
    response = client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_the_database_and_broker_answer(client):
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": True}}
    assert "no-store" in response["Cache-Control"]


def test_readyz_is_unavailable_when_the_database_is_unreachable(client, unreachable_database):
    # given: the driver really cannot connect
    with pytest.raises(OperationalError):
        unreachable_database.ensure_connection()
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": False, "broker": True},
    }


def test_readyz_is_unavailable_when_the_broker_is_unreachable(client, broker_at):
    # given: nothing listens on port 1
    broker_at("redis://127.0.0.1:1/0")
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "broker": False},
    }


def test_readyz_is_ready_with_a_real_redis_broker(client, broker_at, redis_url):
    # given
    broker_at(redis_url)
    # when
    response = client.get("/readyz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": True}}


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_the_probes_answer_get_only(client, path):
    # when
    response = client.post(path)
    # then
    assert response.status_code == 405
