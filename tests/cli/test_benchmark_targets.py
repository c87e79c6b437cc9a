"""`queuebot benchmark`'s targets table: each ratio of issue 23 from the run's figures, met or not, and
a row that says what is missing instead of a number when the run lacks a figure."""

from __future__ import annotations

from cli.benchmark import (
    CHAT_REPLIES,
    GENERATION_BATCHED,
    GENERATION_SEQUENTIAL,
    NAIVE,
    ONE_TEXT_JOBS,
    RAW,
    RAW_TORCH_FP32,
    SYSTEM,
    WORKER_RSS,
    Check,
    Figure,
    targets,
)
from workers.ml.backends import ONNX_INT8

A_RUN = [
    Figure(RAW, 80.0, "texts/s"),
    Figure(SYSTEM, 76.0, "texts/s"),
    Figure(ONE_TEXT_JOBS, 40.0, "texts/s"),
    Figure(NAIVE, 25.0, "texts/s"),
    Figure(CHAT_REPLIES, 45.0, "replies/s"),
    Figure(GENERATION_BATCHED, 300.0, "tokens/s"),
    Figure(GENERATION_SEQUENTIAL, 40.0, "tokens/s"),
    Figure(WORKER_RSS, 900.0, "MB"),
]


def _by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_every_ratio_of_the_issue_is_checked_against_its_target() -> None:
    checks = _by_name(targets(A_RUN, replies_baseline=30.0))

    assert [(c.target, c.met) for c in checks.values()] == [
        (">= 2", False),  # one-text jobs / naive: 1.6
        (">= 0.9", True),  # system / raw: 0.95
        (">= 1.5", None),  # int8 / fp32: torch served this run
        (">= 2", False),  # replies against the baseline: 1.5
        (">= 6", True),  # generation: 7.5
        ("<= 1024", True),  # RSS
    ]
    assert checks["one-text jobs / naive worker"].measured == 40.0 / 25.0
    assert checks["system (50-text jobs) / raw, torch"].measured == 76.0 / 80.0
    assert checks["saturated chat replies / baseline"].measured == 45.0 / 30.0
    assert checks["batched / sequential generation, 16 requests"].measured == 7.5
    assert checks["worker RSS (MB)"].measured == 900.0


def test_the_int8_ratio_is_read_when_int8_served_beside_torch_fp32() -> None:
    int8_run = [Figure(RAW, 128.0, "texts/s") if f.name == RAW else f for f in A_RUN]
    figures = [*int8_run, Figure(RAW_TORCH_FP32, 80.0, "texts/s")]

    checks = _by_name(targets(figures, served=ONNX_INT8))

    int8 = checks["raw int8 / raw torch fp32"]
    assert (int8.measured, int8.met) == (1.6, True)
    assert checks["system (50-text jobs) / raw, onnx-int8"].measured == 76.0 / 128.0


def test_a_missing_figure_or_baseline_leaves_the_ratio_open_and_says_why() -> None:
    without_naive = [figure for figure in A_RUN if figure.name != NAIVE]

    checks = _by_name(targets(without_naive))

    one_text = checks["one-text jobs / naive worker"]
    assert (one_text.measured, one_text.met) == (None, None) and "'naive worker'" in one_text.note
    replies = checks["saturated chat replies / baseline"]
    assert (replies.measured, replies.met) == (None, None)
    assert "45.0 replies/s" in replies.note and "--replies-baseline" in replies.note
    assert checks["raw int8 / raw torch fp32"].note == "not measured: torch served"
