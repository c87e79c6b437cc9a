"""`queuebot models sample` continues prompts with a built text model, seeded, without the queue."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import cli.main
from tests.support.stack_fixtures import use_models_dir


def test_samples_are_seeded_and_one_per_seed(tiny_models_dir: Path) -> None:
    use_models_dir(tiny_models_dir)
    command = ["models", "sample", "generator", "The government said", "Shares in", "--samples", "2"]

    first = CliRunner().invoke(cli.main.app, [*command, "--max-new-tokens", "6"])
    again = CliRunner().invoke(cli.main.app, [*command, "--max-new-tokens", "6"])

    assert first.exit_code == 0, first.output
    assert "with its n-gram, transformer weight" in first.output
    assert first.output.count("[seed 1]") == 2 and first.output.count("[seed 2]") == 2
    samples = [line for line in first.output.splitlines() if "[seed" in line]
    assert samples == [line for line in again.output.splitlines() if "[seed" in line]


def test_a_replies_model_answers_the_prompts_as_questions_and_a_classifier_is_refused(
    tiny_models_dir: Path,
) -> None:
    use_models_dir(tiny_models_dir)

    replies = CliRunner().invoke(
        cli.main.app, ["models", "sample", "replies", "Where is my order?", "--samples", "1"]
    )
    refused = CliRunner().invoke(cli.main.app, ["models", "sample", "sentiment-general", "Great flight"])

    assert replies.exit_code == 0 and "[seed 1]" in replies.output, replies.output
    # The error panel wraps at the terminal's width, so read its words without the borders and breaks.
    assert refused.exit_code == 2 and "not one of" in " ".join(refused.output.replace("│", " ").split())
