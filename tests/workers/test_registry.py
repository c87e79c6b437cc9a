import json
import shutil
from pathlib import Path

import pytest

from core.settings import Settings
from workers.model_store import ModelNotBuiltError, ModelStore
from workers.registry import ModelRegistry

NAME = "sentiment-general"


@pytest.fixture
def store(tiny_models_dir: Path, tmp_path: Path) -> ModelStore:
    """A private copy of one built model, so publishing versions cannot disturb other tests."""
    shutil.copytree(tiny_models_dir / NAME, tmp_path / NAME)
    return ModelStore(tmp_path)


def registry_for(store: ModelStore, reload_check_s: float = 0.0) -> ModelRegistry:
    return ModelRegistry(Settings(models_dir=store.root, device="cpu", model_reload_check_s=reload_check_s))


def publish_copy(store: ModelStore, version: str) -> None:
    """A new version of the model (the same weights under a new version name), made current."""
    with store.new_version(NAME) as out:
        shutil.copytree(store.folder(NAME), out, dirs_exist_ok=True)
        info = json.loads((out / "queuebot.json").read_text())
        info["version"] = version
        (out / "queuebot.json").write_text(json.dumps(info))


def test_a_model_is_loaded_once_and_shared_by_every_job(store: ModelStore) -> None:
    registry = registry_for(store, reload_check_s=60)
    first = registry.served(NAME)
    assert registry.served(NAME) is first
    assert registry.get(NAME) is first.model


def test_a_promoted_version_is_served_from_the_next_job_on(store: ModelStore) -> None:
    registry = registry_for(store)
    old = registry.served(NAME)
    publish_copy(store, "tiny-99990101000000")
    new = registry.served(NAME)
    assert new.version == "tiny-99990101000000" and new.model is not old.model
    served, predictions = registry.classify(NAME, ["Flight delayed three hours, again"])
    assert served.version == "tiny-99990101000000" and len(predictions) == 1
    # The old version's batcher finishes what it holds and then refuses work, so nothing is lost.
    with pytest.raises(RuntimeError, match="closed"):
        old.batcher.submit(["late"])


def test_rolling_back_is_one_promote(store: ModelStore) -> None:
    registry = registry_for(store)
    first = registry.served(NAME).version
    publish_copy(store, "tiny-99990101000000")
    assert registry.served(NAME).version == "tiny-99990101000000"
    store.promote(NAME, first)
    assert registry.served(NAME).version == first


def test_between_checks_the_registry_does_not_touch_the_disk(store: ModelStore) -> None:
    registry = registry_for(store, reload_check_s=3600)
    before = registry.served(NAME).version
    publish_copy(store, "tiny-99990101000000")
    assert registry.served(NAME).version == before


def test_an_unbuilt_model_fails_with_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotBuiltError, match="queuebot build-models"):
        registry_for(ModelStore(tmp_path)).served("generator")


@pytest.mark.parametrize("threads", [1, 2])
def test_torch_runs_on_the_threads_the_settings_give(store: ModelStore, threads: int) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        ModelRegistry(Settings(models_dir=store.root, device="cpu", torch_threads=threads))
        assert torch.get_num_threads() == threads
        untouched = torch.get_num_threads()
        ModelRegistry(Settings(models_dir=store.root, device="cpu", torch_threads=0))  # torch's default
        assert torch.get_num_threads() == untouched
    finally:
        torch.set_num_threads(before)
