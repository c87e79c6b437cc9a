"""Building behind a serving product (`queuebot up`'s second build, `build-models --if-better`): a new
version serves only if it beats the served one on its validation figure, a profile that lost is not
built again, a failed build leaves the served version; and each step reaches `GET /api/models` through
Redis, as the web page shows it.

The trainer here is a stand-in that writes a model folder with the validation figure the test chooses:
what is under test is the decision and its record, on a real models folder, a real Redis and the real
API. The recipes' own validation figures are tested with the recipes (test_classifier_training,
test_gpt2_training)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

import cli.main
from cli.redis_server import RedisServer
from core.settings import reset_settings_cache
from training import build
from training.build import BuildContext, BuildEvent, ModelSpec, ValidationFigure, build_models
from workers.ml.info import ModelInfo, write_info
from workers.model_store import ModelStore


@dataclass
class StandIn:
    """A model whose next build scores ``next_figure`` on validation (None: the build fails)."""

    name: str
    next_figure: float | None = None
    builds: list[str] = field(default_factory=list)

    def build(self, ctx: BuildContext) -> ModelInfo:
        self.builds.append(ctx.profile)
        if self.next_figure is None:
            raise RuntimeError("the trainer ran out of memory")
        version = f"{ctx.profile}-{len(self.builds)}"
        created = f"2026-12-06T04:00:{len(self.builds):02d}+00:00"
        info = ModelInfo(self.name, version, "intent", ctx.profile, "stand-in", created, 1, 0.0, "cpu",
                         {"val_accuracy": self.next_figure}, {})  # fmt: skip
        write_info(ctx.out_dir, info)
        return info


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    stand_in = StandIn(f"toy-{uuid.uuid4().hex[:6]}")
    spec = ModelSpec(stand_in.name, stand_in.build, ValidationFigure("val_accuracy", higher_is_better=True))
    monkeypatch.setitem(build.SPECS, stand_in.name, spec)
    yield stand_in


def _build(
    models: Path, model: StandIn, profile: str, if_better: bool, events: list[BuildEvent]
) -> ModelInfo:
    built = build_models(
        models, models, profile, "cpu", names=[model.name], if_better=if_better, on_event=events.append
    )
    return built[model.name]


def test_a_better_model_replaces_the_served_one_and_a_worse_one_waits_beside_it(
    tmp_path: Path, model: StandIn
) -> None:
    store, events = ModelStore(tmp_path), []
    model.next_figure = 0.80
    _build(tmp_path, model, "tiny", if_better=False, events=events)

    model.next_figure = 0.90
    served = _build(tmp_path, model, "starter", if_better=True, events=events)
    assert served.version == "starter-2" == store.current_version(model.name)

    model.next_figure = 0.85  # the quick build loses to the starter on validation
    served = _build(tmp_path, model, "quick", if_better=True, events=events)
    assert served.version == "starter-2" == store.current_version(model.name)
    assert store.versions(model.name) == ["tiny-1", "starter-2", "quick-3"]

    # Tried once and lost: building behind the product again does not train it again...
    assert _build(tmp_path, model, "quick", if_better=True, events=events).version == "starter-2"
    assert model.builds == ["tiny", "starter", "quick"]
    # ...while an ordinary build of that profile still does, and serves what it builds.
    model.next_figure = 0.70
    assert _build(tmp_path, model, "quick", if_better=False, events=events).version == "quick-4"

    assert [(e.state, e.profile, e.version) for e in events] == [
        ("training", "tiny", None),
        ("serving", "tiny", "tiny-1"),
        ("training", "starter", "tiny-1"),  # tiny-1 serves meanwhile
        ("serving", "starter", "starter-2"),
        ("training", "quick", "starter-2"),
        ("kept", "starter", "starter-2"),
        ("cached", "starter", "starter-2"),
        ("training", "quick", "starter-2"),
        ("serving", "quick", "quick-4"),
    ]
    assert "val_accuracy 0.9 (was tiny-1: 0.8)" in events[3].detail
    assert events[5].detail == "quick-3: validation val_accuracy 0.85 does not beat starter-2's 0.9"


def test_a_failed_build_leaves_the_served_version_and_says_why(tmp_path: Path, model: StandIn) -> None:
    store, events = ModelStore(tmp_path), []
    model.next_figure = 0.8
    _build(tmp_path, model, "starter", if_better=False, events=events)

    model.next_figure = None
    with pytest.raises(RuntimeError, match="out of memory"):
        _build(tmp_path, model, "quick", if_better=True, events=events)

    assert store.current_version(model.name) == "starter-1"
    assert store.training_status(model.name) is None
    assert (events[-1].state, events[-1].detail) == ("failed", "RuntimeError: the trainer ran out of memory")


def test_figures_compare_in_their_own_direction_and_an_unscored_version_loses_to_a_better_profile() -> None:
    def info(profile: str, metrics: dict[str, float]) -> ModelInfo:
        return ModelInfo(
            "m", profile, "replies", profile, "b", "2026-12-06T04:00:00+00:00", 1, 0.0, "cpu", metrics, {}
        )

    perplexity = ValidationFigure("val_perplexity", higher_is_better=False)
    assert perplexity.better(info("quick", {"val_perplexity": 5.0}), info("starter", {"val_perplexity": 9.0}))
    assert not perplexity.better(
        info("quick", {"val_perplexity": 9.0}), info("starter", {"val_perplexity": 9.0})
    )
    # A served version built before the figure was recorded.
    assert perplexity.better(info("quick", {"val_perplexity": 9.0}), info("starter", {}))
    assert not perplexity.better(info("starter", {"val_perplexity": 9.0}), info("quick", {}))


def test_the_build_behind_the_product_reaches_the_models_api(
    tmp_path: Path,
    model: StandIn,
    redis_server: RedisServer,
    api: httpx.Client,
) -> None:
    model.next_figure = 0.9
    command = [
        "build-models",
        "--profile",
        "starter",
        "--only",
        model.name,
        "--if-better",
        "--publish-status",
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QUEUEBOT_MODELS_DIR", str(tmp_path))
        patch.setenv("QUEUEBOT_DATA_DIR", str(tmp_path))
        reset_settings_cache()
        try:
            result = CliRunner().invoke(cli.main.app, command)
        finally:
            patch.undo()
            reset_settings_cache()  # nothing after this test may see these folders

    assert result.exit_code == 0, result.output
    [status] = [entry for entry in api.get("/api/models").json() if entry["name"] == model.name]
    assert (status["state"], status["profile"], status["version"]) == ("serving", "starter", "starter-1")
    assert "val_accuracy 0.9" in status["detail"] and status["since"].endswith("Z")
