"""The consent ledger is append-only: on PostgreSQL a trigger refuses UPDATE and DELETE
whoever asks (tests/core/test_append_only.py, with every append-only table); everywhere, one
service (marketing.services.consent.record_consent) writes it
(static check)."""

import ast
import os
from pathlib import Path

from marketing import services
from marketing.models import ConsentMethod, ConsentRecord
from tests.factories import SubscriptionFactory
from tests.factories.marketing import topic

ROOT = Path(__file__).resolve().parents[2]


def _record() -> ConsentRecord:
    subscription = SubscriptionFactory()
    services.unsubscribe_topic(
        subscription.subscriber, topic=topic(), method=ConsentMethod.ONE_CLICK
    )
    return ConsentRecord.objects.get()


def test_rows_can_still_be_added(postgres):
    first = _record()
    services.unsubscribe_all(first.subscriber, method=ConsentMethod.PREFERENCE_CENTRE)
    assert ConsentRecord.objects.count() == 1  # nothing left to withdraw
    services.subscribe_topic(first.subscriber.user, topic=topic())
    assert ConsentRecord.objects.count() == 2


# --- static check: only marketing.services.record_consent writes the ledger

SKIPPED = {
    ".venv",
    ".git",
    "tests",
    "var",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    "migrations",
}
READS = {
    "all",
    "filter",
    "exclude",
    "get",
    "first",
    "last",
    "count",
    "exists",
    "order_by",
    "select_related",
    "prefetch_related",
    "values",
    "values_list",
    "only",
    "defer",
    "none",
    "aggregate",
    "annotate",
    "iterator",
    "using",
    "distinct",
    "in_bulk",
    "reverse",
    "latest",
    "earliest",
}


def _chain(node):
    names = []
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        else:
            return node, names[::-1]


def _uses():
    found = []
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED]
        for name in files:
            if not name.endswith(".py"):
                continue
            path = Path(folder) / name
            source = path.read_text(encoding="utf-8")
            if "ConsentRecord" not in source:
                continue
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Attribute):
                    root, names = _chain(node)
                    if isinstance(root, ast.Name) and root.id == "ConsentRecord":
                        found.append((path.relative_to(ROOT), node.lineno, names))
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                    if node.func.id == "ConsentRecord":
                        found.append((path.relative_to(ROOT), node.lineno, ["ConsentRecord()"]))
    return found


def test_only_record_consent_writes_the_ledger():
    uses = _uses()
    offending = [
        f"{path}:{line}: ConsentRecord.{'.'.join(names)}"
        for path, line, names in uses
        if names[:1] != ["objects"] or not set(names[1:]) <= READS | {"create"}
    ]
    assert offending == []
    writers = {str(path) for path, _, names in uses if "create" in names}
    assert writers == {os.path.join("marketing", "services", "consent.py")}
    source = (ROOT / "marketing" / "services" / "consent.py").read_text()
    tree = ast.parse(source)
    creating_functions = [
        fn.name
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef) and "ConsentRecord.objects.create" in ast.unparse(fn)
    ]
    assert creating_functions == ["record_consent"]
