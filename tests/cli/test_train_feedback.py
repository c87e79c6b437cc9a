"""The feedback loop on the command line: votes in the database -> ``queuebot export feedback`` ->
``queuebot train replies --feedback``: a new replies model that learnt from the up-voted replies.

Each test gets its own migrated SQLite file and models folder, so votes from other tests never reach
the export; training uses the ``tiny`` profile on an untrained one-layer base (seconds).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch
import typer
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast
from typer.testing import CliRunner, Result

import cli.main
from core.jobs import JobKind, JobSource, JobStatus
from core.settings import reset_settings_cache
from db.engine import session_scope
from db.migrate import upgrade_to_head
from db.models import Feedback, Job, Rating
from training.gpt2.profiles import get_gpt2_profile
from workers.ml.generator import gpt2_tokenizer_path
from workers.ml.info import read_info
from workers.model_store import ModelStore


@dataclass(frozen=True)
class Place:
    models: ModelStore
    folder: Path


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Place]:
    """A private database and models folder for the commands."""
    url = f"sqlite:///{tmp_path / 'queuebot.db'}"
    monkeypatch.setenv("QUEUEBOT_DATABASE_URL", url)
    monkeypatch.setenv("QUEUEBOT_MODELS_DIR", str(tmp_path / "models"))
    reset_settings_cache()
    upgrade_to_head(url)
    yield Place(ModelStore(tmp_path / "models"), tmp_path)
    reset_settings_cache()  # the environment goes back after this; the next reader must see it


@pytest.fixture(scope="module")
def random_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained one-layer GPT-2 with the real tokenizer: what is learnt does not matter here, and
    pre-training even the tiny base would take longer than the fine-tune under test."""
    folder = tmp_path_factory.mktemp("random-gpt2")
    tokenizer = GPT2TokenizerFast.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=1, n_head=1)
    torch.manual_seed(0)
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _queuebot(*args: str | Path) -> Result:
    # standalone_mode=False: a usage error comes back as the exception, not as a framed message.
    result = CliRunner().invoke(cli.main.app, [str(arg) for arg in args], standalone_mode=False)
    return result


def _answered(kind: JobKind, job_input: dict[str, Any], result: dict[str, Any] | None) -> str:
    with session_scope() as session:
        job = Job(
            kind=kind,
            status=JobStatus.DONE if result is not None else JobStatus.FAILED,
            source=JobSource.SLACK,
            input=job_input,
            result=result,
            model_name="intent-support" if kind is JobKind.REPLY else "generator",
            model_version="tiny-20250101000000",
        )
        session.add(job)
        session.flush()
        return job.id


def _votes(job_id: str, *ratings: Rating) -> None:
    with session_scope() as session:
        for number, rating in enumerate(ratings, start=1):
            session.add(Feedback(job_id=job_id, rating=rating, source=JobSource.SLACK, user_id=f"U{number}"))


def test_train_replies_learns_from_the_up_voted_replies_of_an_export(place: Place, random_base: Path) -> None:
    card_question = _answered(
        JobKind.REPLY, {"text": "Can I pay by card?"}, {"reply": "Yes, we take cards.", "path": "retrieval"}
    )
    _votes(card_question, Rating.UP, Rating.UP)  # two people liked it: learnt once
    _votes(_answered(JobKind.REPLY, {"text": "Refund?"}, {"reply": "No."}), Rating.DOWN)
    _votes(_answered(JobKind.GENERATE, {"prompt": "Once"}, {"texts": ["upon a time"]}), Rating.UP)
    _votes(_answered(JobKind.REPLY, {"text": "Hello?"}, None), Rating.UP)  # failed: nothing exported
    export = place.folder / "feedback.jsonl"

    exported = _queuebot("export", "feedback", "--out", export)
    trained = _queuebot(
        "train",
        "replies",
        "--profile",
        "tiny",
        "--device",
        "cpu",
        "--base",
        random_base,
        "--feedback",
        export,
    )

    for result in (exported, trained):
        assert result.exit_code == 0, result.exception
    assert len(export.read_text(encoding="utf-8").splitlines()) == 4
    replies = place.models.folder("replies")
    info = read_info(replies)
    assert info.data["feedback"] == {
        "files": ["feedback.jsonl"],
        "votes": 4,
        "pairs": 1,
        "skipped": {"down_vote": 1, "generate_job": 1, "repeat_vote": 1},
        "answered_by": {"intent-support": 1},
    }
    assert info.data["train_pairs"] == get_gpt2_profile("tiny").replies.max_train_pairs + 1
    card = (replies / "README.md").read_text(encoding="utf-8")
    assert "plus 1 up-voted replies from feedback" in card
    assert (
        "1 up-voted bot replies from `feedback.jsonl` (4 votes read; skipped: down votes: 1, "
        "votes on generate jobs: 1, repeat votes on an answer already used: 1) joined the training "
        "pairs, never the validation or test parts"
    ) in card
    assert "approved answers after the reply guard" in card


def test_a_malformed_feedback_file_stops_train_replies_before_anything_is_trained(place: Place) -> None:
    export = place.folder / "feedback.jsonl"
    export.write_text('{"question": "Hi?", "reply": "Hello."}\n', encoding="utf-8")

    result = _queuebot("train", "replies", "--profile", "tiny", "--device", "cpu", "--feedback", export)

    assert isinstance(result.exception, typer.BadParameter)
    assert result.exception.format_message() == (
        f'Invalid value for --feedback: {export} line 1 has no "job_id" (a non-empty string)'
    )
    assert not (place.folder / "models" / "replies").exists()
