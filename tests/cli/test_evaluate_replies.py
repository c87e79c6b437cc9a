"""`queuebot evaluate-replies` routes held-out questions with the worker's own code against a
knowledge base that holds none of them, and prints (and writes) its figures."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
from core.settings import get_settings
from tests.support.model_fixtures import DATA_DIR
from tests.support.stack_fixtures import use_models_dir
from training.gpt2.data import SUPPORT_FILE, read_support_pairs
from training.replies.evaluation import held_out_split
from workers.ml.classifier import TextClassifier
from workers.model_store import ModelStore


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


def _forced_generation(tmp_path: Path, *options: str) -> tuple[str, dict]:
    """Run ``evaluate-replies --force-generation`` with ``options``; its output and written figures."""
    out = tmp_path / "forced.json"
    result = CliRunner().invoke(
        cli.main.app, ["evaluate-replies", "--force-generation", *options, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return result.output, json.loads(out.read_text())


def test_forced_generation_answers_every_held_out_question_from_answers_that_are_not_its_own(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    use_models_dir(tiny_models_dir)

    output, figures = _forced_generation(tmp_path, "--limit", "6")

    assert "would be sent" in output and "sentences the guard cut" in output
    assert figures["questions"] == 6 == len(figures["examples"])
    assert figures["source"] == "the replies model's test split (seed 0)"
    assert 0 <= figures["grounded_share"] <= 1 and 0 <= figures["cut_share"] <= 1
    assert figures["knowledge_entries"] == 4061 - 407  # every support pair but the evaluated split's
    replies = {pair.question: pair.reply for pair in read_support_pairs(DATA_DIR / SUPPORT_FILE)}
    for example in figures["examples"]:
        assert len(example["context"]) == 2 and replies[example["question"]] not in example["context"]
        grounded = example["grounding"] is not None and example["grounding"] >= figures["min_grounding"]
        assert (example["refusal"] is None) == grounded


def test_forced_generation_takes_questions_from_a_file_with_bitext_column_names(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    use_models_dir(tiny_models_dir)
    questions = tmp_path / "mine.csv"
    with questions.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction", "intent", "response"])
        writer.writerow(["how do I get my money back 😕", "get_refund", "I can help you request a refund."])
        writer.writerow(["where is my parcel", "track_order", "You can track your order online."])

    _output, figures = _forced_generation(tmp_path, "--data", str(questions))

    assert figures["source"] == "every row of mine.csv" and figures["knowledge_entries"] == 4061
    assert [e["intent"] for e in figures["examples"]] == ["get_refund", "track_order"]
    assert all(e["reference"] and len(e["context"]) == 2 for e in figures["examples"])


def test_data_without_force_generation_and_a_bad_split_are_refused(tmp_path: Path) -> None:
    refused = CliRunner().invoke(cli.main.app, ["evaluate-replies", "--data", str(tmp_path / "x.csv")])
    assert refused.exit_code == 2 and "--force-generation" in refused.output

    refused = CliRunner().invoke(cli.main.app, ["evaluate-replies", "--calibrate", "0.6"])
    assert refused.exit_code == 2 and "--force-generation" in refused.output

    refused = CliRunner().invoke(cli.main.app, ["evaluate-replies", "--force-generation", "--split", "train"])
    assert refused.exit_code == 2 and "valid" in refused.output


def test_the_grounding_threshold_is_calibrated_on_the_validation_split(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    use_models_dir(tiny_models_dir)

    output, figures = _forced_generation(tmp_path, "--split", "valid", "--limit", "4", "--calibrate", "-1")

    assert figures["source"] == "the replies model's valid split (seed 0)"
    assert "grounding threshold for replies within -1.0 of their reference" in output
    assert "calibrating on the test split" not in output
