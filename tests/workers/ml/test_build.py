import json
import shutil
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from tests.model_fixtures import DATA_DIR
from workers.ml.generator import TextGenerator, gpt2_tokenizer_path
from workers.ml.info import read_info
from workers.training.build import BUILDERS, build_models, model_folder
from workers.training.generator import CORPUS_FILE


@pytest.fixture
def models_copy(tiny_models_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the built generator, so rebuilding it cannot disturb other tests."""
    shutil.copytree(tiny_models_dir / "generator", tmp_path / "models" / "generator")
    return tmp_path / "models"


def _entries(models_dir: Path) -> list[str]:
    """What sits in a models folder besides the build lock: no staging or retired folders may remain."""
    return sorted(p.name for p in models_dir.iterdir() if p.name != ".build.lock")


def test_every_model_is_built_with_its_info_and_card(tiny_models_dir: Path) -> None:
    for name in BUILDERS:
        folder = model_folder(tiny_models_dir, name)
        info = read_info(folder)
        assert (info.name, info.kind, info.profile, info.device) == (name, name, "tiny", "cpu")
        assert info.version.startswith("tiny-")
        assert info.parameters > 0 and info.metrics
        assert (folder / "README.md").is_file()
    assert _entries(tiny_models_dir) == sorted(BUILDERS)


def test_a_model_built_with_the_same_profile_is_reused(models_copy: Path) -> None:
    before = read_info(models_copy / "generator")
    infos = build_models(models_copy, DATA_DIR, "tiny", "cpu", names=["generator"])
    assert infos["generator"] == before


def test_force_rebuilds_and_replaces_the_model(models_copy: Path) -> None:
    before = read_info(models_copy / "generator")
    (models_copy / "generator" / "stale-file").write_text("from the old build")
    infos = build_models(models_copy, DATA_DIR, "tiny", "cpu", names=["generator"], force=True)
    assert infos["generator"].created_at >= before.created_at
    assert read_info(models_copy / "generator") == infos["generator"]
    assert not (models_copy / "generator" / "stale-file").exists()
    assert _entries(models_copy) == ["generator"]
    TextGenerator.load(models_copy / "generator", "cpu")


def test_a_failed_build_leaves_the_previous_model_in_place(models_copy: Path, tmp_path: Path) -> None:
    broken_data = tmp_path / "broken-data"
    (broken_data / CORPUS_FILE).parent.mkdir(parents=True)
    (broken_data / CORPUS_FILE).write_text("this is not json\n")
    before = read_info(models_copy / "generator")
    with pytest.raises(json.JSONDecodeError):
        build_models(models_copy, broken_data, "tiny", "cpu", names=["generator"], force=True)
    assert read_info(models_copy / "generator") == before
    assert _entries(models_copy) == ["generator"]


def test_a_missing_data_file_is_named_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="sent_train.csv"):
        build_models(tmp_path / "models", tmp_path, "tiny", "cpu", names=["sentiment"])
    assert not (tmp_path / "models").exists()


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
