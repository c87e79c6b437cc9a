"""Customer message vectors: embedded once per worker process, through the registry's batcher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from workers.knowledge.message_vectors import embed_messages
from workers.registry import ModelRegistry


@pytest.fixture(scope="module")
def registry(tiny_models_dir: Path) -> ModelRegistry:
    return ModelRegistry(Settings(models_dir=tiny_models_dir, device="cpu"))


def test_a_message_embedded_once_is_not_embedded_again(registry: ModelRegistry) -> None:
    encoded: list[list[str]] = []
    encoder = registry.knowledge_encoder()
    original = encoder.encode

    def recording(texts: list[str]) -> np.ndarray:
        encoded.append(list(texts))
        return original(texts)

    encoder.encode = recording
    try:
        first = embed_messages(registry, ["where is my parcel", "cancel my order please"]).result()
        again = embed_messages(registry, ["cancel my order please", "a new question", "where is my parcel"])
        later = again.result()
    finally:
        del encoder.encode

    # The second call sent only the text never seen before to the encoder.
    assert [text for batch in encoded for text in batch].count("where is my parcel") == 1
    assert [text for batch in encoded for text in batch].count("a new question") == 1
    assert np.array_equal(later[0], first[1]) and np.array_equal(later[2], first[0])
    # And its vector is the encoder's, in the order asked.
    assert np.allclose(later[1], original(["a new question"])[0], atol=1e-5)
