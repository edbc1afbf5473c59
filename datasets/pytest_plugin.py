"""pytest fixtures for generated datasets: a template per (scale, seed), a clone per test.

Built on ``harness.pytest_plugin`` (``harness_server``, ``harness_template``): the first test
that asks for a scale builds its template (clone the migrated template, generate, VACUUM
FREEZE ANALYZE); every test then gets its own ``CREATE DATABASE ... TEMPLATE`` copy, with a
fresh session token for each tenant's admin user.

Fixtures:
  dataset_templates  session: ``.get(scale, seed=1, **overrides)`` -> BuiltDataset (cached)
  dataset_db         factory: ``dataset_db("small", seed=1, cases=...)`` -> DatasetDB, a clone
                     dropped after the test (``.dsn``, ``.info`` ground truth, ``.tenants``
                     with tokens, ``.session(i)`` a TenantSession as legal_app)
  tiny_db, small_db  ``dataset_db("tiny")`` / ``dataset_db("small")``
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from datasets.build import BuiltDataset, DatasetDB, build_template, drop_clone, open_clone
from datasets.scales import get_scale
from harness.postgres import Server, drop_database

DatasetFactory = Callable[..., DatasetDB]


class DatasetTemplates:
    """Templates built on first use in this test session, dropped at its end."""

    def __init__(self, server: Server, base_template: str) -> None:
        self.server = server
        self.base = base_template
        self._built: dict[tuple[str, int, int | None, int | None, int | None], BuiltDataset] = {}

    def get(self, scale: str, seed: int = 1, *, tenants: int | None = None,
            cases: int | None = None, documents: int | None = None) -> BuiltDataset:
        key = (scale, seed, tenants, cases, documents)
        if key not in self._built:
            resolved = get_scale(scale, tenants=tenants, cases=cases, documents=documents)
            self._built[key] = build_template(self.server, self.base, resolved, seed)
        return self._built[key]

    def close(self) -> None:
        for built in self._built.values():
            drop_database(self.server, built.name)
        self._built.clear()


@pytest.fixture(scope="session")
def dataset_templates(harness_server: Server, harness_template: str
                      ) -> Iterator[DatasetTemplates]:
    templates = DatasetTemplates(harness_server, harness_template)
    yield templates
    templates.close()


@pytest.fixture
def dataset_db(harness_server: Server, dataset_templates: DatasetTemplates
               ) -> Iterator[DatasetFactory]:
    clones: list[DatasetDB] = []

    def factory(scale: str = "tiny", seed: int = 1, **overrides: int | None) -> DatasetDB:
        db = open_clone(harness_server, dataset_templates.get(scale, seed, **overrides))
        clones.append(db)
        return db

    yield factory
    for db in clones:
        drop_clone(harness_server, db)


@pytest.fixture
def tiny_db(dataset_db: DatasetFactory) -> DatasetDB:
    return dataset_db("tiny")


@pytest.fixture
def small_db(dataset_db: DatasetFactory) -> DatasetDB:
    return dataset_db("small")
