"""The payment sandbox is a development stand-in beside the shop: nothing in the shop imports
it, and the installed package does not ship it."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOP = ["ipmart", "accounts", "orders", "marketing", "privacy", "support"]


def test_nothing_in_the_shop_imports_the_sandbox():
    offenders = []
    for app in SHOP:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name.split(".")[0] == "payment_sandbox" for name in names):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_installed_package_leaves_the_sandbox_out():
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    assert not any(pattern.startswith("payment_sandbox") for pattern in include)
    assert (ROOT / "payment_sandbox" / "management" / "commands" / "payment_sandbox.py").exists()
