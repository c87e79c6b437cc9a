"""Importing a knowledge-base source: store what is new, then embed the questions that need it.

One function for ``queuebot kb import`` and for the demo knowledge base ``make run`` starts with.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from tqdm import tqdm

from db.engine import new_session
from db.models import KnowledgeEntry
from workers.knowledge.embedding import KB_ENCODER_NAME, embed_pending_questions, load_kb_encoder
from workers.knowledge.sources import read_source
from workers.knowledge.store import ImportCounts, store_items
from workers.ml.device import resolve_device

log = logging.getLogger(__name__)

# The customer-support pairs in the shared data folder: what the demo answers from.
DEMO_SOURCE_FILE = Path("customer_support") / "bitext_train.csv"
DEMO_SOURCE_NAME = "bitext-demo"


@dataclass(frozen=True)
class ImportReport:
    items: int
    counts: ImportCounts
    embedded: int


def import_knowledge(path: Path, source: str, device: str) -> ImportReport:
    """Raises ``SourceError`` (naming the file and place) before anything is stored for a bad file."""
    items = read_source(path)
    with new_session() as session:
        counts = store_items(session, items, source)
        session.commit()
        log.info(
            "%s: %d items; %d new entries, %d new questions, %d already stored",
            path,
            len(items),
            counts.entries_added,
            counts.questions_added,
            counts.unchanged,
        )
        encoder = load_kb_encoder(resolve_device(device))
        with tqdm(desc="embedding questions", unit="q", disable=None) as bar:
            embedded = embed_pending_questions(session, encoder, KB_ENCODER_NAME, progress=bar.update)
    log.info("embedded %d questions with %s", embedded, KB_ENCODER_NAME)
    return ImportReport(len(items), counts, embedded)


def import_demo_knowledge_if_empty(data_dir: Path, device: str) -> ImportReport | None:
    """The demo's approved answers, unless the knowledge base holds entries already (yours or the
    demo's): a knowledge base someone curated is never topped up with example data."""
    with new_session() as session:
        if session.scalar(select(func.count(KnowledgeEntry.id))):
            return None
    path = data_dir / DEMO_SOURCE_FILE
    log.info("the knowledge base is empty: importing the demo answers from %s", path)
    return import_knowledge(path, DEMO_SOURCE_NAME, device)
