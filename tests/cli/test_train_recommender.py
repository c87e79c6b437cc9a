"""`queuebot train recommender` refuses a broken click log before anything is trained, naming the
file and line, and a log too small to hold out validation; the current model stays as it was."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli.main
from core.settings import reset_settings_cache
from training.recommender.click_log import read_click_log

IMPRESSION = {
    "impression_id": "i-1",
    "context": ["my card was declined"],
    "shown": [
        {"entry_id": 1, "title": "a", "score": 0.5, "position": 1, "questions": ["how do I pay?"]},
        {"entry_id": 2, "title": "b", "score": 0.4, "position": 2, "questions": []},
    ],
    "clicks": [{"entry_id": 1, "position": 1, "source": "web", "user": "dana"}],
}


@pytest.fixture
def models_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("QUEUEBOT_MODELS_DIR", str(tmp_path / "models"))
    reset_settings_cache()
    yield tmp_path / "models"
    reset_settings_cache()


def test_a_malformed_line_stops_training_naming_its_file_and_line(tmp_path: Path, models_dir: Path) -> None:
    log = tmp_path / "clicks.jsonl"
    log.write_text(
        json.dumps(IMPRESSION) + "\n" + '{"impression_id": "i-2", "context": []}\n', encoding="utf-8"
    )

    result = CliRunner().invoke(
        cli.main.app, ["train", "recommender", "--feedback", str(log)], env={"COLUMNS": "400"}
    )

    assert result.exit_code == 2
    assert "clicks.jsonl, line 2" in result.output and "context is empty" in result.output
    assert not (models_dir / "recommender").exists()


def test_a_log_with_one_clicked_impression_is_refused_as_too_small_to_validate(
    tmp_path: Path, models_dir: Path
) -> None:
    log = tmp_path / "clicks.jsonl"
    unclicked = IMPRESSION | {"impression_id": "i-2", "clicks": []}
    log.write_text(json.dumps(IMPRESSION) + "\n" + json.dumps(unclicked) + "\n", encoding="utf-8")

    result = CliRunner().invoke(cli.main.app, ["train", "recommender", "--feedback", str(log)])

    assert result.exit_code != 0
    assert "needs at least 2" in str(result.exception)
    assert not (models_dir / "recommender" / "CURRENT").exists()


def test_unclicked_impressions_and_deleted_articles_are_skipped_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "clicks.jsonl"
    unclicked = IMPRESSION | {"impression_id": "i-2", "clicks": []}
    log.write_text(json.dumps(IMPRESSION) + "\n" + json.dumps(unclicked) + "\n", encoding="utf-8")

    read = read_click_log([log])

    assert [i.impression_id for i in read.impressions] == ["i-1"]
    assert [a.entry_id for a in read.impressions[0].shown] == [1]
    assert read.to_data()["skipped"] == {"deleted_article": 2, "not_clicked": 1}
