"""Keeping a server's long-lived objects out of the cyclic garbage collector's way.

A warmed worker holds hundreds of thousands of objects that live as long as it does: the modules it
imported (torch, transformers, SQLAlchemy, Celery) and the models it loaded. Python's full collection
walks every one of them, holding the GIL, however rarely any is garbage; meanwhile no job thread,
batcher or announcement runs, and when one comes depends on allocation counts, not on the load.
``gc.freeze`` moves what is alive at the end of start-up to a generation no collection visits; what
is made afterwards, jobs' objects and a later model version, is collected as before. A dropped model
is freed by reference counting alone (no cycles were found among the loaded models), so a replaced
one is not kept alive by the freeze. Figures: docs/benchmarks.md, "full collections".
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
