"""Ranking cost over a catalogue the size of the demo knowledge base (4,061 entries, 27 intents), on
random unit vectors: the cost does not depend on what the vectors hold. Run with one BLAS thread:

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python scripts/recommendation_ranking_cost.py
"""

import logging
import statistics
import time

import numpy as np

from workers.recommendations.catalogue import Catalogue
from workers.recommendations.ranker import Ranker
from workers.recommendations.suggest import rank_catalogue
from workers.recommendations.vectors import conversation_vector, item_vector

logging.basicConfig(level=logging.INFO, format="%(message)s")
log = logging.getLogger("ranking-cost")
rng = np.random.default_rng(0)
n, d = 4061, 384


def units(k):
    v = rng.standard_normal((k, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


questions = units(n)
t = time.perf_counter()
vectors = np.stack([item_vector(questions[i : i + 1]) for i in range(n)])
build = time.perf_counter() - t
cat = Catalogue(list(range(n)), [f"t{i}" for i in range(n)], [f"intent{i % 27}" for i in range(n)], vectors)
trained = Ranker("bench", 1.0, (rng.standard_normal((d, d)) * 0.01).astype(np.float32), 0.0)
for name, ranker in (("similarity", Ranker.similarity()), ("trained", trained)):
    times = []
    for _ in range(200):
        c = conversation_vector(units(3), 0.5)
        t = time.perf_counter()
        rank_catalogue(ranker, c, cat, shown=3, exclude_entries={1}, exclude_intents={"intent1"})
        times.append(time.perf_counter() - t)
    times.sort()
    median, p95 = statistics.median(times) * 1000, times[int(0.95 * len(times))] * 1000
    log.info(f"{name}: median {median:.2f} ms, p95 {p95:.2f} ms (200 rankings)")
log.info(f"catalogue build (item vectors for {n} entries): {build * 1000:.0f} ms")
