"""Worker processes for chain_verify(workers=N), on PostgreSQL: each judges whole pages of the
chain (audit.chain.Page) in the verifier's own snapshot, so that the pages of a long chain
are read and hashed on several cores at once.

A worker only ever reports which batches of a page it found intact. The walk itself stays in
the verifier's process, in order: it judges every other batch itself, batch by batch
(audit.chain._batch_fault), which names the fault. A page whose worker failed, or a pool that
could not start, is judged in the verifier's process instead: slower, never less strict.

This module imports nothing of Django at the top: a worker is a fresh interpreter (spawned,
not forked: the verifier holds open connections and the pool's threads), which imports it
before it sets Django up.
"""

import logging
import multiprocessing
import os
import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

logger = logging.getLogger(__name__)

# Pages handed out ahead of the one the walk waits for, per worker.
_AHEAD = 2
# pg_export_snapshot()'s ids: hexadecimal groups and dashes.
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+(-[0-9A-F]+)+")

_checker: Any = None


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _start(database: dict[str, Any], snapshot: str, grace_seconds: int) -> None:
    """In the worker: Django, then a connection to the verifier's database in a read-only
    transaction on its snapshot, kept for every page the worker judges."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from audit import chain

    connection.settings_dict.update(database)
    settings.AUDIT_SEAL_GRACE_SECONDS = grace_seconds
    connection.set_autocommit(False)
    with connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # The id is checked against the form PostgreSQL gives it: a literal, not input.
        cursor.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
        for setting in chain.PG_WALK_SETTINGS:
            cursor.execute(f"SET LOCAL {setting}")
    global _checker
    _checker = chain.Checker()


def _judge(page: Any) -> set[int]:
    from audit import chain

    with chain.no_cycle_collection():
        return chain.Page(_checker, page).intact_batches()


def judged_in_workers(pages: Iterable[Any], *, workers: int) -> Iterator[tuple[Any, set[int]]]:
    """Each page in order, with the numbers of its batches found intact, judged by `workers`
    processes in the current transaction's snapshot (REPEATABLE READ, on PostgreSQL)."""
    from django.conf import settings
    from django.db import connection

    from audit import chain

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
    if not _SNAPSHOT_ID.fullmatch(snapshot):
        raise ValueError(f"unexpected snapshot id {snapshot!r}")
    # The workers' own plain connections: a pool of its own in each would hold more.
    database = {**connection.settings_dict}
    database["OPTIONS"] = {k: v for k, v in database.get("OPTIONS", {}).items() if k != "pool"}
    here = chain.Checker()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(database, snapshot, settings.AUDIT_SEAL_GRACE_SECONDS),
    )
    waiting: deque[tuple[Any, Future | None]] = deque()
    warned = False

    def failed() -> None:
        # Whatever went wrong, the page is judged here: slower, never less strictly.
        nonlocal warned
        if not warned:
            logger.warning("An audit chain worker failed: pages are judged here.", exc_info=True)
            warned = True

    def submitted(page: Any) -> Future | None:
        try:
            return pool.submit(_judge, page)
        except Exception:  # a pool that could not start, or broke
            failed()
            return None

    def judged(page: Any, future: Future | None) -> set[int]:
        if future is not None:
            try:
                return future.result()
            except Exception:
                failed()
        return chain.Page(here, page).intact_batches()

    try:
        for page in pages:
            waiting.append((page, submitted(page)))
            if len(waiting) > _AHEAD * workers:
                page, future = waiting.popleft()
                yield page, judged(page, future)
        while waiting:
            page, future = waiting.popleft()
            yield page, judged(page, future)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
