"""Every environment variable the settings read is in .env.example and in the README's table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READS = re.compile(
    r"(?:os\.environ\.get|env_bool|env_list|required|os\.environ\.setdefault|env(?:\.\w+)?)"
    r'\(\s*"([A-Z][A-Z0-9_]+)"'
)


def _variables() -> set[str]:
    names = set()
    for path in (ROOT / "ipmart" / "settings").glob("*.py"):
        names |= set(READS.findall(path.read_text()))
    return names - {"DJANGO_SETTINGS_MODULE"}


def test_the_settings_read_variables():
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "GATEWAY_ENDPOINT"} <= _variables()


def test_every_variable_is_in_env_example():
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M)
    )
    assert sorted(_variables() - documented) == []


def test_every_variable_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    table_cells = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", readme))
    assert sorted(_variables() - table_cells) == []
