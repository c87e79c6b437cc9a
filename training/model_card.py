"""What every model's card holds (its ModelInfo and README.md), whichever builder trained it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import torch

from workers.ml.info import ModelInfo, make_version


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


def beside(metrics: dict[str, float], after: str, key: str, value: float) -> dict[str, float]:
    """``metrics`` with ``key`` right after ``after`` (at the end without it), so a card's table shows
    a backend's figure next to the fp32 one it is compared with."""
    if after not in metrics:
        return {**metrics, key: value}
    placed: dict[str, float] = {}
    for name, figure in metrics.items():
        if name != key:
            placed[name] = figure
        if name == after:
            placed[key] = value
    return placed


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
