"""The lock files cover pyproject.toml: every dependency is pinned with hashes, so CI, `make run`
and the image install exactly what was locked. After changing a dependency: `make lock`."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pinned(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {
        name.lower().replace("_", "-"): version
        for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.M)
    }


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("main.txt", PROJECT["dependencies"]),
        ("test.txt", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]),
    ],
)
def test_every_dependency_is_locked_with_hashes(lock, requirements):
    pinned = _pinned(lock)
    missing = sorted({_name(r) for r in requirements} - set(pinned))
    assert missing == [], f"not in requirements/{lock}: run `make lock`"
    text = (ROOT / "requirements" / lock).read_text()
    for block in re.split(r"\n(?=[A-Za-z0-9._-]+==)", text.split("\n", 1)[1]):
        if "==" in block.splitlines()[0]:
            assert "--hash=sha256:" in block, block.splitlines()[0]


def test_test_only_tools_stay_out_of_the_production_lock():
    production = _pinned("main.txt")
    for tool in ("pytest", "aiosmtpd", "playwright", "ruff", "mypy", "uv"):
        assert tool not in production
