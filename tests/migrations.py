"""Data migrations tested as they run: the database is taken back to the state before the
migration, rows are written with that state's models, the migration is applied and its result
read with the new state's models; afterwards the app goes back to its latest migration, whatever
the test did (the next test expects the whole schema)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate(targets: list[tuple[str, str]]) -> Apps:
    """Migrate the test database to `targets`; the models as they were there."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@contextmanager
def migrated_back(app_label: str, targets: list[tuple[str, str]]) -> Iterator[Apps]:
    """The database at `targets` (the models as they were there) for the block; `app_label` at
    its latest migration again after it."""
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes(app_label)
    try:
        yield migrate(targets)
    finally:
        migrate(latest)
