"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading: every
service's command must name a real entry point of this project."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BUILT = sorted(name for name, service in SERVICES.items() if "build" in service)


def _module_defines(module: str, attribute: str) -> bool:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{module} is not importable"
    tree = ast.parse(Path(spec.origin).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.ImportFrom):
            names |= {alias.asname or alias.name for alias in node.names}
    return attribute in names


def test_the_stack_has_web_worker_beat_database_redis_and_a_mail_catcher():
    assert {"web", "web2", "worker", "beat", "db", "broker", "cache", "mail", "proxy"} <= set(
        SERVICES
    )
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name


def test_only_the_proxy_publishes_ports():
    published = sorted(name for name, service in SERVICES.items() if service.get("ports"))
    assert published == ["proxy"]


def test_the_demo_gateway_and_mail_catcher_are_the_demo_profile():
    assert SERVICES["sandbox"]["profiles"] == ["demo"]
    assert SERVICES["mail"]["profiles"] == ["demo"]
    assert "--allow-non-loopback" in SERVICES["sandbox"]["command"]


def test_the_broker_never_evicts_and_the_cache_is_bounded():
    broker = " ".join(SERVICES["broker"]["command"])
    cache = " ".join(SERVICES["cache"]["command"])
    assert "--maxmemory-policy noeviction" in broker
    assert "--maxmemory-policy allkeys-lru" in cache and "--maxmemory " in cache
    store = SERVICES["web"]["environment"]
    assert store["REDIS_URL"].startswith("redis://cache:")
    assert store["CELERY_BROKER_URL"].startswith("redis://broker:")


def test_the_application_connects_as_the_role_that_owns_nothing():
    assert SERVICES["web"]["environment"]["DATABASE_URL"].startswith("postgres://ipmart_app:")
    assert SERVICES["migrate"]["environment"]["DATABASE_URL"].startswith("postgres://ipmart_owner:")


def test_the_built_image_has_a_dockerfile_and_runs_production_settings():
    assert (ROOT / "Dockerfile").is_file()
    for name in BUILT:
        assert (
            SERVICES[name]["environment"]["DJANGO_SETTINGS_MODULE"] == "ipmart.settings.production"
        )


@pytest.mark.parametrize("name", BUILT)
def test_each_project_service_command_names_a_real_entry_point(name):
    command = SERVICES[name]["command"]
    program = command[0]
    if program == "python":
        assert command[1] == "manage.py"
        assert command[2] in get_commands(), f"{name}: no management command {command[2]!r}"
    elif program == "gunicorn":
        module, attribute = command[1].split(":")
        assert _module_defines(module, attribute), f"{name}: {command[1]} does not exist"
    elif program == "celery":
        assert command[1] == "-A"
        assert _module_defines(command[2], "celery_app"), f"{name}: no Celery app in {command[2]}"
        assert command[3] in {"worker", "beat"}
    else:
        pytest.fail(f"{name}: unexpected program {program!r}")


def test_the_web_healthcheck_calls_a_route_of_the_store(client):
    probe = " ".join(SERVICES["web"]["healthcheck"]["test"])
    path = re.search(r"127\.0\.0\.1:8000(/\S*?)'", probe).group(1)
    assert client.get(path).status_code == 200


def test_every_variable_compose_interpolates_is_documented_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    used = set(re.findall(r"\$\{(\w+)", text))
    documented = set(re.findall(r"^#?\s*(\w+)=", (ROOT / ".env.example").read_text(), re.M))
    assert used and used <= documented


def test_the_cache_has_its_own_evicting_redis_and_the_broker_never_evicts():
    broker = " ".join(SERVICES["broker"]["command"])
    cache = " ".join(SERVICES["cache"]["command"])
    assert "--maxmemory-policy noeviction" in broker and "--maxmemory " in broker
    assert "--maxmemory-policy allkeys-lru" in cache and "--maxmemory " in cache
    for name in BUILT:
        environment = SERVICES[name]["environment"]
        assert environment["REDIS_URL"].startswith("redis://cache:")  # the cache
        assert environment["CELERY_BROKER_URL"].startswith("redis://broker:")
