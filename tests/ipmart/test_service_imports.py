"""Services record what must happen (outbox); they never import their tasks module, which would
put services and tasks in an import circle and tempt `task.delay` from a service."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ["ipmart/core", "accounts", "orders", "marketing", "privacy", "support"]


def service_modules() -> list[Path]:
    found = []
    for app in APPS:
        folder = ROOT / app
        found += [p for p in [folder / "services.py"] if p.exists()]
        found += sorted((folder / "services").glob("**/*.py"))
    # apps added later (any top-level package with services)
    for path in ROOT.glob("*/services.py"):
        if path not in found:
            found.append(path)
    for path in ROOT.glob("*/services/**/*.py"):
        if path not in found and ".venv" not in path.parts:
            found.append(path)
    return found


def imported_modules(path: Path) -> set[str]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{alias.name}" for alias in node.names}
    return names


def test_the_walk_finds_the_services():
    paths = {p.relative_to(ROOT).as_posix() for p in service_modules()}
    assert {"orders/services/payments.py", "privacy/services.py"} <= paths


def test_no_services_module_imports_a_tasks_module():
    offenders = {
        path.relative_to(ROOT).as_posix(): sorted(
            name for name in imported_modules(path) if name.split(".")[-1] == "tasks"
        )
        for path in service_modules()
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_check_sees_relative_and_absolute_imports(tmp_path):
    # the detector itself: both spellings are caught
    sample = ROOT / "orders" / "services" / "_sample_for_test.py"
    sample.write_text("from .. import tasks\nfrom orders.tasks import fulfil_order_task\n")
    try:
        names = imported_modules(sample)
    finally:
        sample.unlink()
    assert {"orders.tasks", "orders.tasks.fulfil_order_task"} <= names
