"""Choosing the articles shown under an answer: rank every entry, then keep a varied few.

Excluded: the answer just given and, on the template path, the rest of its intent (the demo's
knowledge base holds many answers per intent, near copies of the one just shown). At most one
article per intent, so three suggestions are three different subjects.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from workers.recommendations.catalogue import Catalogue
from workers.recommendations.ranker import Ranker


@dataclass(frozen=True)
class Suggestion:
    entry_id: int
    title: str
    score: float
    position: int  # from 1


def rank_catalogue(
    ranker: Ranker,
    conversation: np.ndarray,
    catalogue: Catalogue,
    *,
    shown: int,
    exclude_entries: Collection[int] = (),
    exclude_intents: Collection[str] = (),
) -> list[Suggestion]:
    if not len(catalogue) or shown < 1:
        return []
    scores = ranker.scores(conversation, catalogue.vectors)
    chosen: list[Suggestion] = []
    intents_taken: set[str] = set(exclude_intents)
    for row in np.argsort(-scores, kind="stable"):
        entry_id, intent = catalogue.entry_ids[row], catalogue.intents[row]
        if entry_id in exclude_entries or intent in intents_taken:
            continue
        intents_taken.add(intent)
        chosen.append(
            Suggestion(entry_id, catalogue.titles[row], round(float(scores[row]), 4), len(chosen) + 1)
        )
        if len(chosen) == shown:
            break
    return chosen
