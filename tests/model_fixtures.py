"""Real, tiny models built once per test session (about 10 s on 2 CPU cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.training.build import build_models

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    models_dir = tmp_path_factory.mktemp("tiny-models")
    build_models(models_dir, DATA_DIR, "tiny", "cpu")
    return models_dir
