import json
import shutil
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from tests.support.model_fixtures import DATA_DIR
from training.build import PRODUCT_MODELS, build_models
from training.classifier.labelled_data import AIRLINE_TWEETS
from workers.ml.classifier import TextClassifier
from workers.ml.generator import gpt2_tokenizer_path
from workers.ml.info import read_info
from workers.model_store import ModelStore

NAME = "sentiment-general"  # quick to build in its tiny profile, standing in for any


@pytest.fixture
def models_copy(tiny_models_dir: Path, tmp_path: Path) -> Path:
    """A private copy of one built model, so rebuilding it cannot disturb other tests."""
    shutil.copytree(tiny_models_dir / NAME, tmp_path / "models" / NAME)
    return tmp_path / "models"


def test_every_product_model_is_built_with_its_info_and_card(tiny_models_dir: Path) -> None:
    store = ModelStore(tiny_models_dir)
    for name in PRODUCT_MODELS:
        folder = store.folder(name)
        info = read_info(folder)
        assert (info.name, info.profile, info.device) == (name, "tiny", "cpu")
        assert folder.name == info.version and info.version.startswith("tiny-")
        assert info.parameters > 0 and info.metrics
        assert (folder / "README.md").is_file()


def test_a_model_built_with_the_same_profile_is_reused(models_copy: Path) -> None:
    before = read_info(ModelStore(models_copy).folder(NAME))
    infos = build_models(models_copy, DATA_DIR, "tiny", "cpu", names=[NAME])
    assert infos[NAME] == before


def test_force_builds_a_new_current_version_and_keeps_the_old_one(models_copy: Path) -> None:
    store = ModelStore(models_copy)
    before = store.current_version(NAME)
    infos = build_models(models_copy, DATA_DIR, "tiny", "cpu", names=[NAME], force=True)
    assert store.current_version(NAME) == infos[NAME].version != before
    assert set(store.versions(NAME)) == {before, infos[NAME].version}
    TextClassifier.load(store.folder(NAME), "cpu")


def test_a_failed_build_leaves_the_previous_version_current(models_copy: Path, tmp_path: Path) -> None:
    broken_data = tmp_path / "broken-data"
    (broken_data / AIRLINE_TWEETS).parent.mkdir(parents=True)
    (broken_data / AIRLINE_TWEETS).write_text("text,airline\nno sentiment column,oops\n")
    store = ModelStore(models_copy)
    before = store.current_version(NAME)
    with pytest.raises(ValueError, match="missing column"):
        build_models(models_copy, broken_data, "tiny", "cpu", names=[NAME], force=True)
    assert store.current_version(NAME) == before
    assert store.versions(NAME) == [before]
    assert not list((models_copy / NAME).glob(".staging-*"))


def test_a_missing_data_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        build_models(tmp_path / "models", tmp_path / "does-not-exist", "tiny", "cpu")


@pytest.mark.parametrize(("profile", "names"), [("huge", None), ("tiny", ["translator"])])
def test_unknown_profiles_and_models_are_rejected(
    tmp_path: Path, profile: str, names: list[str] | None
) -> None:
    with pytest.raises(ValueError, match="unknown"):
        build_models(tmp_path / "models", DATA_DIR, profile, "cpu", names=names)


def test_the_shipped_gpt2_tokenizer_loads_with_auto_tokenizer() -> None:
    tokenizer = AutoTokenizer.from_pretrained(gpt2_tokenizer_path(), local_files_only=True)
    assert len(tokenizer) == 50257
    assert tokenizer.eos_token_id == 50256
    assert tokenizer("Hello world")["input_ids"] == [15496, 995]


def test_a_better_model_than_the_profile_asks_for_is_kept(models_copy: Path) -> None:
    folder = ModelStore(models_copy).folder(NAME)
    info = json.loads((folder / "queuebot.json").read_text())
    (folder / "queuebot.json").write_text(json.dumps({**info, "profile": "full"}))
    infos = build_models(models_copy, DATA_DIR, "tiny", "cpu", names=[NAME])
    assert infos[NAME].profile == "full"
    assert ModelStore(models_copy).versions(NAME) == [folder.name]


def test_a_worse_model_than_the_profile_asks_for_is_rebuilt(models_copy: Path) -> None:
    before = ModelStore(models_copy).current_version(NAME)
    # starter: the cheapest profile above tiny (a linear head, no fine-tuning)
    infos = build_models(models_copy, DATA_DIR, "starter", "cpu", names=[NAME])
    assert infos[NAME].profile == "starter" and infos[NAME].version != before
