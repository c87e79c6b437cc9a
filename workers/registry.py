"""The model registry: each model is loaded once per worker process and handed out by name.

Tasks never load models themselves; they ask ``get_registry().served(name)``. Loading happens in the
process that runs tasks (a prefork child, or the solo/threads worker), never in a parent that forks.

Versions: the registry serves the version ``models/<name>/CURRENT`` points at. When a newer one is
promoted, the next job to ask loads it and swaps it in; jobs already running finish on the version
they started with, and nothing is re-queued, so a new version costs no job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.jobs import RECOMMENDER_MODEL, SERVED_MODELS
from core.settings import Settings, get_settings
from workers.batching import MicroBatcher, Pending
from workers.model_store import ModelStore

log = logging.getLogger(__name__)

KNOWLEDGE_INDEX = "knowledge-index"  # the registry's lock and check-time key for the index


def _load_classifier(folder: Path, device: str, settings: Settings) -> Any:
    from workers.ml.backends import INT8_INFO_KEY, choose_backend
    from workers.ml.classifier import TextClassifier
    from workers.ml.info import read_info

    info = read_info(folder)
    figures = info.data.get(INT8_INFO_KEY)
    backend = choose_backend(
        settings.inference_backend, device, folder, info.name, figures if isinstance(figures, dict) else None
    )
    return TextClassifier.load(folder, device, backend, settings.int8_threads)


def _load_ranker(folder: Path, device: str) -> Any:
    from workers.ml.info import read_info
    from workers.recommendations.ranker import Ranker

    return Ranker.load(folder, read_info(folder).version)


def _load_generator(folder: Path, device: str) -> Any:
    from workers.ml.generator import TextGenerator

    return TextGenerator.load(folder, device)


def _load_digit_gan(folder: Path, device: str) -> Any:
    from workers.ml.digit_gan import DigitGan

    return DigitGan.load(folder, device)


def _torch_only(load: Callable[[Path, str], Any]) -> Callable[[Path, str, Settings], Any]:
    return lambda folder, device, settings: load(folder, device)


# By the kind in a model's metadata; loaders import their code lazily, keeping this module torch-free.
LOADERS: dict[str, Callable[[Path, str, Settings], Any]] = {
    "sentiment": _load_classifier,
    "intent": _load_classifier,
    "topic": _load_classifier,
    "generator": _torch_only(_load_generator),
    "replies": _torch_only(_load_generator),
    "digit-gan": _torch_only(_load_digit_gan),
    "recommender": _torch_only(_load_ranker),
}


@dataclass(frozen=True)
class ServedModel:
    """One loaded version of a model, with the batcher that feeds it (None for unbatched kinds)."""

    name: str
    version: str
    model: Any
    batcher: MicroBatcher[Any, Any] | None


class ModelRegistry:
    def __init__(self, settings: Settings) -> None:
        from workers.ml.device import use_torch_threads

        self.settings = settings
        # Before the first model runs: the process serves many jobs at once (core/settings.py).
        use_torch_threads(settings.torch_threads)
        self.store = ModelStore(settings.models_dir)
        self._served: dict[str, ServedModel] = {}
        self._checked_at: dict[str, float] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._knowledge_encoder: Any = None
        self._document_encoder: Any = None
        self._knowledge_index: Any = None
        self._query_batcher: MicroBatcher[str, Any] | None = None
        self._catalogue: tuple[Any, Any] | None = None  # (the knowledge index, its catalogue)

    @property
    def models_dir(self) -> Path:
        return self.store.root

    def get(self, name: str) -> Any:
        return self.served(name).model

    def served(self, name: str) -> ServedModel:
        """The current version of ``name``, loading it (and warming it) on first use or after a promote.

        A failed load is not remembered, so a job after the model is rebuilt succeeds.
        """
        current = self._served.get(name)
        now = time.monotonic()
        if current is not None and now - self._checked_at.get(name, 0.0) < self.settings.model_reload_check_s:
            return current
        with self._lock_for(name):
            current = self._served.get(name)
            wanted = self.store.current_version(name)
            self._checked_at[name] = time.monotonic()
            if current is not None and (wanted is None or wanted == current.version):
                # A CURRENT pointer that vanished (a folder being replaced) keeps the loaded version.
                return current
            fresh = self._load(name, wanted)
            self._served[name] = fresh
            if current is not None:
                log.info("model %s: switched from %s to %s", name, current.version, fresh.version)
                if current.batcher is not None:
                    current.batcher.close()  # finishes what it already holds
            return fresh

    def classify(self, name: str, texts: Sequence[str]) -> tuple[ServedModel, list[Any]]:
        """Classify through the model's micro-batcher; returns the version used with the predictions."""
        served = self.served(name)
        if served.batcher is None:
            raise TypeError(f"model {name!r} is not a classifier")
        return served, served.batcher.submit(texts)

    def knowledge_encoder(self) -> Any:
        """The sentence encoder the knowledge base is embedded with (the pinned MiniLM wheel), loaded once."""
        with self._lock_for("knowledge-encoder"):
            if self._knowledge_encoder is None:
                from workers.knowledge.embedding import load_kb_encoder
                from workers.ml.device import resolve_device

                s = self.settings
                self._knowledge_encoder = load_kb_encoder(
                    resolve_device(s.device), s.inference_backend, s.models_dir, s.int8_threads
                )
            return self._knowledge_encoder

    def knowledge_document_encoder(self) -> Any:
        """The encoder whose vectors the knowledge base stores: always fp32, which ``KB_ENCODER_NAME``
        names, whichever backend embeds the queries (int8 queries are served only while the export
        keeps its cosine to these: docs/inference-backends.md). The query encoder where that is fp32."""
        queries = self.knowledge_encoder()
        if queries.backend == "torch":
            return queries
        with self._lock_for("knowledge-document-encoder"):
            if self._document_encoder is None:
                from workers.knowledge.embedding import load_kb_encoder
                from workers.ml.device import resolve_device

                self._document_encoder = load_kb_encoder(resolve_device(self.settings.device))
            return self._document_encoder

    def embed_queries(self, texts: Sequence[str]) -> Pending[Any]:
        """Knowledge-base query vectors, through a micro-batcher: under load, the messages of
        concurrent reply jobs are embedded in one forward pass instead of one each. Returns at once;
        ``.result()`` waits for the vectors."""
        encoder = self.knowledge_encoder()
        with self._lock_for("knowledge-queries"):
            if self._query_batcher is None:
                s = self.settings
                self._query_batcher = MicroBatcher(
                    lambda batch: list(encoder.encode(batch)),
                    name="knowledge-queries",
                    max_items=s.classify_batch_max_texts,
                    max_wait_s=s.classify_batch_wait_ms / 1000,
                    timeout_s=s.batch_timeout_s,
                )
        return self._query_batcher.start(texts)

    def knowledge_index(self) -> Any:
        """The search index over the knowledge base as stored now.

        Like a model version: at most every ``model_reload_check_s`` a query asks whether questions
        were added, edited or re-embedded, and if so the next job builds a new index and swaps it in
        (4,061 questions take about 0.1 s); jobs holding the old one finish with it.
        """
        now = time.monotonic()
        current = self._knowledge_index
        if (
            current is not None
            and now - self._checked_at.get(KNOWLEDGE_INDEX, 0.0) < self.settings.model_reload_check_s
        ):
            return current
        encoder = self.knowledge_encoder()
        with self._lock_for(KNOWLEDGE_INDEX):
            from db.engine import session_scope
            from workers.knowledge.embedding import KB_ENCODER_NAME
            from workers.knowledge.index import KnowledgeIndex, knowledge_version

            with session_scope() as session:
                self._checked_at[KNOWLEDGE_INDEX] = time.monotonic()
                current = self._knowledge_index
                if current is not None and knowledge_version(session, KB_ENCODER_NAME) == current.version:
                    return current
                started = time.perf_counter()
                fresh = KnowledgeIndex.build(session, encoder, KB_ENCODER_NAME)
            self._knowledge_index = fresh
            log.info(
                "knowledge index: %d questions in %.2f s (%s)",
                len(fresh),
                time.perf_counter() - started,
                fresh.version,
            )
            return fresh

    def recommendation_ranker(self) -> Any:
        """The trained ranker's current version (promoted versions swap in like any model's), or,
        while none has been trained, the untrained one: the embedding similarity."""
        from workers.recommendations.ranker import Ranker

        if self.store.current_version(RECOMMENDER_MODEL) is None:
            return Ranker.similarity()
        return self.served(RECOMMENDER_MODEL).model

    def recommendation_catalogue(self, index: Any) -> Any:
        """The articles that can be suggested, built once per knowledge index."""
        from workers.recommendations.catalogue import catalogue_from_index

        with self._lock_for("recommendation-catalogue"):
            if self._catalogue is None or self._catalogue[0] is not index:
                self._catalogue = (index, catalogue_from_index(index))
            return self._catalogue[1]

    def warm_up(self, names: Iterable[str] = SERVED_MODELS) -> None:
        for name in names:
            self.served(name)
        index = self.knowledge_index()
        index.search_vector(self.embed_queries(["hello"]).result()[0], k=1)
        self.recommendation_catalogue(index)  # the first reply need not build it

    def loaded(self) -> dict[str, ServedModel]:
        return dict(self._served)

    def _lock_for(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def _load(self, name: str, version: str | None) -> ServedModel:
        from workers.ml.device import resolve_device
        from workers.ml.info import read_info

        folder = self.store.folder(name, version)
        info = read_info(folder)
        if info.kind not in LOADERS:
            raise ValueError(f"model {name!r} in {folder} has unknown kind {info.kind!r}")
        started = time.perf_counter()
        # One load at a time in the process: transformers builds a model with torch's default device
        # switched to "meta" process-wide, so a second load running meanwhile in another thread can
        # come out with weights that hold no data ("Cannot copy out of meta tensor").
        with _LOAD_LOCK:
            model = LOADERS[info.kind](folder, resolve_device(self.settings.device), self.settings)
        model.warm_up()
        log.info(
            "loaded model %s %s from %s in %.1f s", name, info.version, folder, time.perf_counter() - started
        )
        return ServedModel(name, info.version, model, self._batcher_for(name, info.kind, model))

    def _batcher_for(self, name: str, kind: str, model: Any) -> MicroBatcher[Any, Any] | None:
        s = self.settings
        if kind in ("sentiment", "intent", "topic"):
            return self._batcher(name, model.classify, s.classify_batch_max_texts, s.classify_batch_wait_ms)
        if kind in ("generator", "replies"):
            return self._batcher(
                name, model.generate_batch, s.generate_batch_max_rows, s.generate_batch_wait_ms
            )
        if kind == "digit-gan":
            # Items are single images, so one forward pass draws several image jobs at once.
            return self._batcher(name, model.draw, s.image_batch_max_images, s.image_batch_wait_ms)
        return None

    def _batcher(
        self, name: str, run_batch: Callable[[list[Any]], Sequence[Any]], max_items: int, max_wait_ms: float
    ) -> MicroBatcher[Any, Any]:
        return MicroBatcher(
            run_batch,
            name=name,
            max_items=max_items,
            max_wait_s=max_wait_ms / 1000,
            timeout_s=self.settings.batch_timeout_s,
        )


_registry: ModelRegistry | None = None
_registry_lock = threading.Lock()
_LOAD_LOCK = threading.Lock()


def _serving(settings: Settings) -> tuple[Any, ...]:
    """The settings a registry is built from. Any other change (a rate limit, a channel) keeps the
    loaded models: building a new registry would load every model again."""
    return (
        settings.models_dir,
        settings.device,
        settings.inference_backend,
        settings.int8_threads,
        settings.model_reload_check_s,
        settings.classify_batch_max_texts,
        settings.classify_batch_wait_ms,
        settings.generate_batch_max_rows,
        settings.generate_batch_wait_ms,
        settings.image_batch_max_images,
        settings.image_batch_wait_ms,
        settings.batch_timeout_s,
    )


def get_registry() -> ModelRegistry:
    """This process's registry, for the settings in force now (tests switch models folders)."""
    global _registry
    settings = get_settings()
    with _registry_lock:
        if _registry is None or _serving(_registry.settings) != _serving(settings):
            _registry = ModelRegistry(settings)
        return _registry
