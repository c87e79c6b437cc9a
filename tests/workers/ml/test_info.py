import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.ml.info import INFO_FILE, ModelInfo, make_version, read_info, write_info


def _info() -> ModelInfo:
    return ModelInfo(
        name="sentiment",
        version="tiny-20250101000000",
        kind="sentiment",
        profile="tiny",
        base="base",
        created_at="2025-01-01T00:00:00+00:00",
        parameters=3,
        training_seconds=1.5,
        device="cpu",
        metrics={"val_accuracy": 0.5},
        data={"rows": 96, "label_mapping": {"0": "negative"}},
    )


def test_written_info_reads_back_equal(tmp_path: Path) -> None:
    write_info(tmp_path, _info())
    assert read_info(tmp_path) == _info()
    assert [p.name for p in tmp_path.iterdir()] == [INFO_FILE]


def test_missing_info_error_names_the_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        read_info(tmp_path)


def test_info_with_missing_keys_is_rejected_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / INFO_FILE).write_text(json.dumps({"name": "x"}))
    with pytest.raises(ValueError, match=str(tmp_path)):
        read_info(tmp_path)


def test_corrupt_info_is_rejected_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / INFO_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=str(tmp_path)):
        read_info(tmp_path)


def test_version_is_profile_and_utc_timestamp() -> None:
    assert make_version("quick", datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)) == "quick-20250304050607"
