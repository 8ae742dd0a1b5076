"""The Celery app takes its configuration from Django's settings: JSON only, and tasks run in
the process when there is no broker."""

import json

from ipmart.celery import app

from .project_process import run

SHOW_CONFIG = [
    "-c",
    "import json, django; django.setup()\n"
    "from ipmart.celery import app\n"
    "print(json.dumps({'eager': app.conf.task_always_eager, 'accept': app.conf.accept_content,"
    " 'broker': app.conf.broker_url}))",
]


def test_the_app_accepts_and_sends_json_only():
    # then
    assert app.main == "ipmart"
    assert list(app.conf.accept_content) == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


def test_without_a_broker_url_tasks_run_eagerly(tmp_path):
    # given: the embedded default, with neither REDIS_URL nor CELERY_BROKER_URL
    env = {"DJANGO_SETTINGS_MODULE": "ipmart.settings.local", "IPMART_VAR_DIR": str(tmp_path)}
    # when
    result = run(SHOW_CONFIG, env)
    # then
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    assert config["eager"] is True
    assert config["accept"] == ["json"]
    assert config["broker"] == "memory://"  # nothing to connect to


def test_with_redis_tasks_go_through_the_broker(tmp_path):
    # given
    env = {
        "DJANGO_SETTINGS_MODULE": "ipmart.settings.local",
        "IPMART_VAR_DIR": str(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:6379/9",
    }
    # when
    result = run(SHOW_CONFIG, env)
    # then
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "eager": False,
        "accept": ["json"],
        "broker": "redis://127.0.0.1:6379/9",
    }
