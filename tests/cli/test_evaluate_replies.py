"""`queuebot evaluate-replies` routes held-out questions with the worker's own code against a
knowledge base that holds none of them, and prints (and writes) its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
from core.settings import get_settings
from tests.stack_fixtures import use_models_dir
from workers.ml.classifier import TextClassifier
from workers.model_store import ModelStore
from workers.training.reply_evaluation import held_out_split


def test_held_out_questions_are_never_in_the_evaluations_knowledge_base(tiny_models_dir: Path) -> None:
    intent_model = TextClassifier.load(ModelStore(tiny_models_dir).folder("intent-support"), "cpu")

    knowledge, test, outside = held_out_split(get_settings().data_dir, intent_model)

    assert not set(knowledge) & set(test)
    assert len(test) == 407 and len(knowledge) == 3654
    assert len(outside) == 50 and set(outside.labels) == {"out_of_scope"}


def test_the_command_prints_and_writes_routing_paths_similarity_and_out_of_scope_recall(
    tiny_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_models_dir(tiny_models_dir)
    out = tmp_path / "replies.json"

    result = CliRunner().invoke(cli.main.app, ["evaluate-replies", "--limit", "12", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert "right intent:" in result.output and "out-of-scope" in result.output
    figures = json.loads(out.read_text())
    assert figures["questions"] == 12 == len(figures["examples"])
    assert sum(path["count"] for path in figures["paths"].values()) == 12
    assert sum(figures["out_of_scope_paths"].values()) == pytest.approx(1.0)
    assert 0 <= figures["intent_accuracy"] <= 1 and -1 <= figures["mean_similarity"] <= 1
    assert set(figures["models"]) == {"intent-support", "replies"}
    for example in figures["examples"]:
        assert example["reply"].strip() and example["path"] in figures["paths"]
