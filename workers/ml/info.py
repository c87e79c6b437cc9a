"""The metadata file that sits next to every built model (``queuebot.json``).

Workers and the API read it to report which model answered a job; the builder reads it to decide
whether a model on disk is already the one asked for.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

INFO_FILE = "queuebot.json"


@dataclass
class ModelInfo:
    name: str
    version: str
    kind: str  # "sentiment" | "intent" | "topic" | "generator" | "replies" | "digit-gan"
    profile: str
    base: str
    created_at: str  # ISO 8601, UTC
    parameters: int
    training_seconds: float
    device: str
    metrics: dict[str, float]
    data: dict[str, object]  # what it was trained on: files, rows, split, label mapping


def make_version(profile: str, when: datetime) -> str:
    return f"{profile}-{when.astimezone(UTC):%Y%m%d%H%M%S}"


def read_info(folder: Path) -> ModelInfo:
    path = Path(folder) / INFO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no model in {folder}: {INFO_FILE} is missing (build the models first)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"model in {folder} has an unreadable {INFO_FILE}: {exc}") from exc
    expected = {f.name for f in fields(ModelInfo)}
    if not isinstance(raw, dict) or set(raw) != expected:
        got = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise ValueError(
            f"model in {folder} has an invalid {INFO_FILE}: expected keys {sorted(expected)}, got {got}"
        )
    return ModelInfo(**raw)


def write_info(folder: Path, info: ModelInfo) -> None:
    path = Path(folder) / INFO_FILE
    # Readers decide from this file whether a model is complete, so never let them see half of it.
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_info_of_kind(folder: Path, kind: str) -> ModelInfo:
    """Read the info and refuse a folder that holds a different kind of model."""
    info = read_info(folder)
    if info.kind != kind:
        raise ValueError(f"model in {folder} is a {info.kind!r} model, not {kind!r}")
    return info
