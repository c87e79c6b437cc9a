"""What can be suggested: every knowledge-base entry, with its title and topic vector.

Built from the worker's knowledge index (the stored question embeddings), so it changes when the
index does and costs no model call.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from workers.knowledge.index import KnowledgeIndex
from workers.recommendations.vectors import item_vector


@dataclass(frozen=True)
class Catalogue:
    entry_ids: list[int]
    titles: list[str]  # the entry's first question: how customers name the article
    intents: list[str]
    vectors: np.ndarray  # (entries, dimension), unit length

    def __len__(self) -> int:
        return len(self.entry_ids)


def catalogue_from_index(index: KnowledgeIndex) -> Catalogue:
    rows: dict[int, list[int]] = defaultdict(list)
    for row, entry in enumerate(index.entries):
        rows[entry.id].append(row)
    entry_ids = sorted(rows)
    first = {entry_id: rows[entry_id][0] for entry_id in entry_ids}
    vectors = (
        np.stack([item_vector(index.vectors[rows[entry_id]]) for entry_id in entry_ids])
        if entry_ids
        else np.zeros((0, index.encoder.dimension), dtype=np.float32)
    )
    return Catalogue(
        entry_ids=entry_ids,
        titles=[index.questions[first[entry_id]] for entry_id in entry_ids],
        intents=[index.entries[first[entry_id]].intent for entry_id in entry_ids],
        vectors=vectors,
    )
