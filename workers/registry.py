"""The model registry: each model is loaded once per worker process and handed out by name.

Tasks never load models themselves; they ask ``get_registry().get(name)``. Loading happens in the
process that runs tasks (a prefork child, or the solo worker), never in a parent that forks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from core.jobs import GENERATOR_MODEL, REPLY_RETRIEVER_MODEL, SENTIMENT_MODEL
from core.settings import get_settings

log = logging.getLogger(__name__)


def _load_sentiment(folder: Path, device: str) -> Any:
    from workers.ml.sentiment import SentimentClassifier

    return SentimentClassifier.load(folder, device)


def _load_generator(folder: Path, device: str) -> Any:
    from workers.ml.generator import TextGenerator

    return TextGenerator.load(folder, device)


def _load_reply_retriever(folder: Path, device: str) -> Any:
    from workers.ml.retriever import ReplyRetriever

    return ReplyRetriever.load(folder, device)


# Loaders import their model code lazily so that importing the registry stays cheap.
LOADERS: dict[str, Callable[[Path, str], Any]] = {
    SENTIMENT_MODEL: _load_sentiment,
    GENERATOR_MODEL: _load_generator,
    REPLY_RETRIEVER_MODEL: _load_reply_retriever,
}


class UnknownModelError(KeyError):
    pass


class ModelRegistry:
    def __init__(self, models_dir: Path, device: str) -> None:
        self.models_dir = models_dir
        self.device = device
        self._models: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Any:
        """The loaded model called ``name``; loads and warms it on first use.

        A failed load is not remembered, so a job after the model is rebuilt succeeds.
        """
        if name not in LOADERS:
            raise UnknownModelError(f"unknown model {name!r}; known: {sorted(LOADERS)}")
        with self._lock:
            if name not in self._models:
                self._models[name] = self._load(name)
            return self._models[name]

    def warm_up(self, names: Iterable[str] = tuple(LOADERS)) -> None:
        for name in names:
            self.get(name)

    def loaded(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._models)

    def _load(self, name: str) -> Any:
        from workers.ml.device import resolve_device

        folder = self.models_dir / name
        if not folder.is_dir():
            raise FileNotFoundError(
                f"model {name!r} is not built: no folder {folder}. Run `queuebot build-models`."
            )
        started = time.perf_counter()
        model = LOADERS[name](folder, resolve_device(self.device))
        model.warm_up()
        log.info(
            "loaded model %s version %s from %s in %.1f s",
            name,
            model.info.version,
            folder,
            time.perf_counter() - started,
        )
        return model


_registry: ModelRegistry | None = None
_registry_lock = threading.Lock()


def get_registry() -> ModelRegistry:
    """This process's registry, for the models folder and device the settings name now."""
    global _registry
    settings = get_settings()
    with _registry_lock:
        if (
            _registry is None
            or _registry.models_dir != settings.models_dir
            or _registry.device != settings.device
        ):
            _registry = ModelRegistry(settings.models_dir, settings.device)
        return _registry
