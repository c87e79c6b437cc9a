import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workers.model_store import ModelNotBuiltError, ModelStore


def write_model(folder: Path, version: str, created_at: str = "2026-11-23T10:00:00+00:00") -> None:
    (folder / "queuebot.json").write_text(json.dumps({"version": version, "created_at": created_at}))
    (folder / "weights.bin").write_bytes(b"\0" * 16)


def publish(store: ModelStore, version: str, created_at: str = "2026-11-23T10:00:00+00:00") -> None:
    with store.new_version("sentiment-general") as out:
        write_model(out, version, created_at)


def test_a_finished_build_becomes_the_current_version(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    publish(store, "quick-1")
    assert store.current_version("sentiment-general") == "quick-1"
    assert store.folder("sentiment-general") == tmp_path / "sentiment-general" / "quick-1"
    assert sorted(p.name for p in (tmp_path / "sentiment-general").iterdir()) == ["CURRENT", "quick-1"]


def test_a_failed_build_leaves_the_current_version_serving_and_no_debris(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    publish(store, "quick-1")
    with pytest.raises(RuntimeError, match="out of data"), store.new_version("sentiment-general") as out:
        write_model(out, "quick-2")
        raise RuntimeError("out of data")
    assert store.current_version("sentiment-general") == "quick-1"
    assert store.versions("sentiment-general") == ["quick-1"]
    assert not list((tmp_path / "sentiment-general").glob(".staging-*"))


def test_a_build_that_writes_no_metadata_publishes_nothing(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(RuntimeError, match="no queuebot.json"), store.new_version("generator"):
        pass
    assert store.current_version("generator") is None


def test_promote_rolls_back_and_refuses_unknown_versions(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    publish(store, "quick-1", "2026-11-23T10:00:00+00:00")
    publish(store, "full-2", "2026-11-23T11:00:00+00:00")
    assert store.current_version("sentiment-general") == "full-2"
    store.promote("sentiment-general", "quick-1")
    assert store.current_version("sentiment-general") == "quick-1"
    with pytest.raises(ModelNotBuiltError, match="'nope'"):
        store.promote("sentiment-general", "nope")
    assert store.current_version("sentiment-general") == "quick-1"


def test_prune_keeps_the_newest_versions_and_always_the_current_one(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    for hour in range(4):
        publish(store, f"v{hour}", f"2026-11-23T1{hour}:00:00+00:00")
    store.promote("sentiment-general", "v0")
    assert store.prune("sentiment-general", keep=2) == ["v1"]
    assert store.versions("sentiment-general") == ["v0", "v2", "v3"]


def test_an_unbuilt_model_is_an_error_that_says_how_to_build_it(tmp_path: Path) -> None:
    with pytest.raises(ModelNotBuiltError, match="queuebot build-models"):
        ModelStore(tmp_path).folder("generator")


def test_a_version_built_without_promotion_waits_beside_the_current_one(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    publish(store, "starter-1", "2026-11-23T10:00:00+00:00")
    with store.new_version("sentiment-general", promote=False) as out:
        write_model(out, "quick-1", "2026-11-23T11:00:00+00:00")

    assert store.current_version("sentiment-general") == "starter-1"
    assert store.versions("sentiment-general") == ["starter-1", "quick-1"]
    store.promote("sentiment-general", "quick-1")
    assert store.current_version("sentiment-general") == "quick-1"


def test_a_model_in_training_says_so_until_the_build_ends_or_its_process_is_gone(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with store.training("replies", "quick"):
        status = store.training_status("replies")
        assert status is not None and status["profile"] == "quick" and status["pid"] == os.getpid()
        assert str(status["since"]).endswith("+00:00")
    assert store.training_status("replies") is None

    # A build killed with SIGKILL leaves its marker behind; its process is gone, so nothing trains.
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(finished.stdout)
    marker = tmp_path / "replies" / ".training.json"
    marker.write_text(json.dumps({"profile": "quick", "since": "2026-12-06T03:00:00+00:00", "pid": dead_pid}))
    assert store.training_status("replies") is None
