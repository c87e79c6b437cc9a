"""The int8 backend on the tiny models the session builds (each with its export, as build-models
makes them): it agrees with torch, `auto` follows the card, and a missing export is an error at load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from workers.ml.backends import INT8_INFO_KEY, ONNX_INT8, TORCH, Int8ExportMissingError, choose_backend
from workers.ml.classifier import TextClassifier
from workers.ml.embedding import SentenceEncoder, minilm_path
from workers.ml.info import INFO_FILE
from workers.ml.int8_runtime import EXPORT_FOLDER, SENTENCE_ENCODER_FOLDER, Int8SentenceEncoder, export_graph
from workers.model_store import ModelStore
from workers.registry import ModelRegistry

# Tweets, support questions and headlines: the kinds of text the three classifiers serve.
TEXTS = [
    "@united my flight was cancelled and nobody at the desk could help",
    "@SouthwestAir thank you for the upgrade, lovely crew!",
    "@JetBlue what time does boarding start for flight 512?",
    "How do I get a refund for my order?",
    "I forgot my password and cannot sign in",
    "Can I change the delivery address after paying?",
    "Shares soar after record quarterly profit",
    "Striker scores twice as champions win the derby",
    "New phone launched with a faster chip and longer battery",
    "Parliament votes on the budget tonight",
    "the weather is nice today",
    "Where is my parcel? It is three days late",
]
# int8 moves a probability by about a percent; only texts near a class boundary may change label.
MIN_AGREEMENT = 0.9


@pytest.mark.parametrize("name", ["sentiment-general", "intent-support", "topic-news"])
def test_int8_backend_gives_the_same_labels_as_torch_on_nine_texts_in_ten(
    tiny_models_dir: Path, name: str
) -> None:
    folder = ModelStore(tiny_models_dir).folder(name)
    fp32 = TextClassifier.load(folder, "cpu", TORCH).classify(TEXTS)
    int8_model = TextClassifier.load(folder, "cpu", ONNX_INT8)
    int8 = int8_model.classify(TEXTS)

    assert int8_model.backend == ONNX_INT8
    agreement = np.mean([a.label == b.label for a, b in zip(fp32, int8, strict=True)])
    assert agreement >= MIN_AGREEMENT, (name, [(a.label, b.label) for a, b in zip(fp32, int8, strict=True)])
    largest_gap = max(
        abs(a.scores[k] - b.scores[k]) for a, b in zip(fp32, int8, strict=True) for k in a.scores
    )
    assert largest_gap < 0.1


def test_int8_sentence_vectors_stay_within_cosine_0_98_of_fp32(tiny_models_dir: Path) -> None:
    graph = export_graph(tiny_models_dir / SENTENCE_ENCODER_FOLDER)
    exact = SentenceEncoder.load(minilm_path(), "cpu").encode(TEXTS)
    approximate = Int8SentenceEncoder.load(minilm_path(), graph).encode(TEXTS)

    assert approximate.shape == exact.shape
    assert np.allclose(np.linalg.norm(approximate, axis=1), 1.0, atol=1e-5)
    assert np.sum(exact * approximate, axis=1).min() >= 0.98


def test_each_tiny_fine_tuned_card_records_the_int8_accuracy_beside_fp32s(tiny_models_dir: Path) -> None:
    # Tiny topic-news is a linear head, fitted and measured on the int8 encoder itself
    # (tests/training/test_linear_head.py).
    for name in ("sentiment-general", "intent-support"):
        folder = ModelStore(tiny_models_dir).folder(name)
        info = json.loads((folder / INFO_FILE).read_text())
        figures = info["data"][INT8_INFO_KEY]
        assert figures["fp32_test_accuracy"] == round(info["metrics"]["test_accuracy"], 4)
        assert figures["held"] == (figures["fp32_test_accuracy"] - figures["test_accuracy"] <= 0.005)
        keys = list(info["metrics"])
        assert keys[keys.index("test_accuracy") + 1] == "test_accuracy_onnx-int8"
        assert "test_accuracy_onnx-int8" in (folder / "README.md").read_text()


def _copy_model(tiny_models_dir: Path, tmp_path: Path, name: str, held: bool | None) -> Path:
    """A private models folder holding one tiny model, its card saying int8 did or did not hold."""
    store = ModelStore(tiny_models_dir)
    version = store.current_version(name)
    assert version is not None
    target = tmp_path / "models" / name / version
    shutil.copytree(store.folder(name), target)
    (target.parent / "CURRENT").write_text(version)
    info_path = target / INFO_FILE
    info = json.loads(info_path.read_text())
    if held is None:
        shutil.rmtree(target / EXPORT_FOLDER)
    else:
        info["data"][INT8_INFO_KEY]["held"] = held
    info_path.write_text(json.dumps(info))
    return tmp_path / "models"


@pytest.mark.parametrize(("held", "served"), [(True, ONNX_INT8), (False, TORCH)])
def test_auto_serves_int8_only_where_the_card_says_it_held_its_accuracy(
    tiny_models_dir: Path, tmp_path: Path, held: bool, served: str
) -> None:
    models = _copy_model(tiny_models_dir, tmp_path, "sentiment-general", held)
    registry = ModelRegistry(Settings(models_dir=models, inference_backend="auto", device="cpu"))

    assert registry.served("sentiment-general").model.backend == served


def test_explicit_int8_without_an_export_fails_at_load_naming_the_model(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    models = _copy_model(tiny_models_dir, tmp_path, "topic-news", held=None)
    registry = ModelRegistry(Settings(models_dir=models, inference_backend="onnx-int8", device="cpu"))

    with pytest.raises(Int8ExportMissingError, match="model 'topic-news'.*no int8 export"):
        registry.served("topic-news")
    auto = ModelRegistry(Settings(models_dir=models, inference_backend="auto", device="cpu"))
    assert auto.served("topic-news").model.backend == TORCH


def test_a_gpu_worker_stays_on_torch_under_auto_and_refuses_explicit_int8(tiny_models_dir: Path) -> None:
    folder = ModelStore(tiny_models_dir).folder("sentiment-general")
    held = {"held": True}

    assert choose_backend("auto", "cpu", folder, "sentiment-general", held) == ONNX_INT8
    assert choose_backend("auto", "cuda", folder, "sentiment-general", held) == TORCH
    with pytest.raises(ValueError, match="CPU only"):
        choose_backend("onnx-int8", "cuda:0", folder, "sentiment-general", held)
