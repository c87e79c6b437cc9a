"""Real, tiny models built once per test session (about 10 s on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import get_settings
from training.build import build_models

# The settings' folder, so QUEUEBOT_DATA_DIR moves the tests' data too (a clone outside the
# workspace has no ../shared/data beside it).
DATA_DIR = get_settings().data_dir


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = tmp_path_factory.mktemp("tiny-models")
    build_models(models_dir, DATA_DIR, "tiny", "cpu")
    return models_dir
