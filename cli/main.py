"""The ``queuebot`` command line: each command lives in a module of its own, wired here.

Commands import heavy modules inside their functions, so ``queuebot --help`` loads no torch.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.benchmark import benchmark_command
from cli.benchmark_backends import benchmark_backends_command
from cli.build import build_models_command
from cli.evaluate import evaluate, evaluate_generator, evaluate_monitoring, evaluate_replies
from cli.evaluate_gan import evaluate_gan
from cli.export import export_app
from cli.kb import kb_app
from cli.logging_setup import configure_logging
from cli.measure import measure_command
from cli.models import models_app
from cli.replay import replay_command
from cli.serve import migrate, slack
from cli.streaming_benchmark import benchmark_streaming_command
from cli.train import train_app
from cli.up import up
from core.settings import get_settings

app = typer.Typer(
    help="queuebot: chat replies, sentiment monitoring and generation on Celery.", no_args_is_help=True
)
app.command()(up)
app.command("build-models")(build_models_command)
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.command()(evaluate)
app.command("evaluate-replies")(evaluate_replies)
app.command("evaluate-generator")(evaluate_generator)
app.command("evaluate-monitoring")(evaluate_monitoring)
app.command("evaluate-gan")(evaluate_gan)
app.add_typer(kb_app, name="kb")
app.command("replay")(replay_command)
app.command("measure")(measure_command)
app.command("benchmark")(benchmark_command)
app.command("benchmark-streaming")(benchmark_streaming_command)
app.command("benchmark-backends")(benchmark_backends_command)
app.command()(slack)
app.command()(migrate)
app.add_typer(export_app, name="export")


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    configure_logging(logging.DEBUG if verbose else logging.INFO, get_settings().log_format)


if __name__ == "__main__":
    app()
