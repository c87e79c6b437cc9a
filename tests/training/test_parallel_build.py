"""Models built several at a time in CPU processes (``training/parallel_build.py``), as ``queuebot up``
builds its first models."""

import logging
from pathlib import Path

import pytest

from tests.support.model_fixtures import DATA_DIR
from training.build import BuildEvent, build_models
from training.classifier.labelled_data import AIRLINE_TWEETS
from workers.ml.classifier import TextClassifier
from workers.ml.generator import TextGenerator
from workers.model_store import ModelStore


def test_two_processes_build_every_model_after_the_ones_it_needs_with_events_and_logs_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[BuildEvent] = []
    caplog.set_level(logging.INFO, logger="training.build")
    names = ["sentiment-general", "generator"]  # the generator needs gpt2-base first

    infos = build_models(tmp_path, DATA_DIR, "tiny", "cpu", names=names, on_event=events.append, processes=2)

    store = ModelStore(tmp_path)
    assert list(infos) == names
    assert {name: store.current_version(name) for name in names} == {n: infos[n].version for n in names}
    TextClassifier.load(store.folder("sentiment-general"), "cpu").classify(["the flight was late"])
    TextGenerator.load(store.folder("generator"), "cpu")
    states = [(event.name, event.state) for event in events]
    for name in ("gpt2-base", *names):
        assert states.index((name, "training")) < states.index((name, "serving"))
    assert states.index(("gpt2-base", "serving")) < states.index(("generator", "training"))
    built_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("generator: built")]
    assert built_lines, "the child's log records did not reach this process"


def test_a_model_that_fails_in_its_process_is_reported_and_raised_here(tmp_path: Path) -> None:
    broken_data = tmp_path / "broken-data"
    (broken_data / AIRLINE_TWEETS).parent.mkdir(parents=True)
    (broken_data / AIRLINE_TWEETS).write_text("text,airline\nno sentiment column,oops\n")
    events: list[BuildEvent] = []

    with pytest.raises(ValueError, match="missing column"):
        build_models(
            tmp_path / "models",
            broken_data,
            "tiny",
            "cpu",
            names=["sentiment-general", "digits-gan"],
            on_event=events.append,
            processes=2,
        )

    failed = [event for event in events if event.state == "failed"]
    assert [event.name for event in failed] == ["sentiment-general"]
    assert "missing column" in failed[0].detail
    assert ModelStore(tmp_path / "models").current_version("sentiment-general") is None
