"""pytest plugin: transactional tests may flush the append-only audit tables.

A transactional test (`django_db(transaction=True)`) commits for real, so pytest-django
empties the database after it: Django's TransactionTestCase._fixture_teardown runs `flush`,
which is DELETE on SQLite and TRUNCATE on PostgreSQL, and the audit tables' triggers refuse
both. This wraps that flush, and nothing else, in `protections_lifted()`; the triggers are back
before the next test starts. Registered by `pytest_plugins` in tests/conftest.py.
"""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from django.db import connections
from django.test import TransactionTestCase

from audit.protection import protections_lifted


@pytest.fixture(scope="session", autouse=True)
def _audit_tables_flushable_after_transactional_tests() -> Iterator[None]:
    flush = TransactionTestCase._fixture_teardown

    def flush_with_protections_lifted(test_case: TransactionTestCase) -> None:
        with ExitStack() as stack:
            for alias in test_case._databases_names(include_mirrors=False):
                stack.enter_context(protections_lifted(connections[alias]))
            flush(test_case)

    # TestCase overrides _fixture_teardown with a rollback, so only tests that really commit
    # (and TestCase on a database without transactions) reach this.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_with_protections_lifted)
        yield
