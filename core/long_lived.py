"""Keeping a server's long-lived objects out of the cyclic garbage collector's way.

A worker holds about half a million objects that live as long as it does: the modules it imported
(torch, transformers, SQLAlchemy, Celery) and the models it loaded; the web process about 125,000.
Python's full collection walks every one of them, holding the GIL, however rarely any is garbage: 0.27 s
in a warmed worker, during which no job thread, batcher or announcement runs. ``gc.freeze`` moves what
is alive at the end of start-up to a generation that no collection visits (the approach CPython
documents for servers); what is made afterwards, jobs' objects and a later model version, is collected
as before. Dropping every loaded model frees it by reference counting alone (no cycles were found), so
a swapped-out model is not kept by the freeze. Figures: docs/benchmarks.md, "Full collections".
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def freeze_start_up_objects() -> None:
    """Collect once, then leave everything alive now to reference counting alone."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info(
        "%d start-up objects frozen out of garbage collection (%.2f s)",
        gc.get_freeze_count(),
        time.perf_counter() - started,
    )
