"""The ``queuebot`` command line. Subcommands import their modules lazily: ``--help`` loads no torch."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from cli.evaluate import evaluate, evaluate_generator, evaluate_monitoring, evaluate_replies
from cli.export import export_app
from cli.kb import kb_app
from cli.logging_setup import configure_logging
from cli.models import models_app
from cli.train import train_app
from core.settings import ModelProfile, Settings, get_settings

app = typer.Typer(
    help="queuebot: chat replies, sentiment monitoring and generation on Celery.", no_args_is_help=True
)
app.add_typer(train_app, name="train")
app.add_typer(models_app, name="models")
app.add_typer(export_app, name="export")
app.add_typer(kb_app, name="kb")
app.command()(evaluate)
app.command("evaluate-replies")(evaluate_replies)
app.command("evaluate-generator")(evaluate_generator)
app.command("evaluate-monitoring")(evaluate_monitoring)
log = logging.getLogger("queuebot")

ProfileOption = Annotated[
    ModelProfile | None,
    typer.Option(
        help="'quick' (minutes on a CPU), 'full' (the quality recipe), 'starter' (what a first run "
        "answers with while quick trains) or 'tiny' (seconds; tests). Default: settings."
    ),
]


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    configure_logging(logging.DEBUG if verbose else logging.INFO, get_settings().log_format)


@app.command()
def up(profile: ProfileOption = None) -> None:
    """Run the whole product: Redis, migrations, models (built on first run), a worker and the web app."""
    from cli.embedded import run_embedded

    settings = get_settings()
    if profile is not None:
        settings = settings.model_copy(update={"model_profile": profile})
    raise typer.Exit(run_embedded(settings))


@app.command("build-models")
def build_models_command(
    profile: ProfileOption = None,
    force: Annotated[bool, typer.Option(help="Rebuild models that are already built.")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Build only these models (repeatable).")] = None,
    if_better: Annotated[
        bool,
        typer.Option(
            help="Serve a new version only if it beats the current one on validation (for building behind "
            "a running product); a profile that lost once is not built again."
        ),
    ] = False,
    publish_status: Annotated[
        bool, typer.Option(help="Publish progress to Redis for the web page and GET /api/models.")
    ] = False,
) -> None:
    """Train or build the models the workers need into the models folder."""
    from training.build import build_models

    settings = get_settings()
    on_event = None
    if publish_status:
        from cli.build_status import redis_publisher

        on_event = redis_publisher(settings.redis_url)
    infos = build_models(
        settings.models_dir,
        settings.data_dir,
        profile or settings.model_profile,
        settings.device,
        names=only,
        force=force,
        if_better=if_better,
        on_event=on_event,
    )
    for name, info in infos.items():
        log.info("%s %s: %s", name, info.version, info.metrics)


@app.command()
def measure(
    url: Annotated[str, typer.Option(help="Base URL of a running product.")] = "",
    chats: Annotated[int, typer.Option(min=1, help="Chat jobs to time, one at a time.")] = 20,
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Texts per sentiment batch.")] = 100,
    batches: Annotated[int, typer.Option(min=1, help="Sentiment batches to time.")] = 5,
    conversations: Annotated[
        int, typer.Option(min=0, help="Customers chatting at once (0: skip this measurement).")
    ] = 10,
    turns: Annotated[int, typer.Option(min=1, help="Messages each of those customers sends.")] = 10,
    pause_ms: Annotated[
        int, typer.Option(min=0, help="Each customer's pause between an answer and their next message.")
    ] = 1000,
) -> None:
    """Time chat replies and sentiment batches end to end through a running product's REST API."""
    from rich.console import Console
    from rich.table import Table

    from cli.measure import measure as run_measurements
    from cli.measure import measure_conversations

    settings = get_settings()
    base_url = url or f"http://{settings.web_host}:{settings.web_port}"
    token = settings.api_token.get_secret_value()
    rows = run_measurements(base_url, token, settings.data_dir, chats, batch_size, batches)
    if conversations:
        rows += measure_conversations(
            base_url, token, settings.data_dir, conversations, turns, pause_ms / 1000
        )
    table = Table(title=f"queuebot at {base_url}")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(value) for value in row.values()))
    Console().print(table)


@app.command()
def replay(
    path: Annotated[Path, typer.Argument(help="The recorded stream.")],
    stream_format: Annotated[
        str, typer.Option("--format", help="airline, cnbc or jsonl (see cli/streams.py).")
    ] = "airline",
    speed: Annotated[
        float, typer.Option(min=0, help="Stream seconds per wall second (60: an hour a minute); 0: at once.")
    ] = 60.0,
    model: Annotated[str, typer.Option(help="sentiment-general or sentiment-finance.")] = "sentiment-general",
    topic: Annotated[str | None, typer.Option(help="Every item's topic (default: from the stream).")] = None,
    topic_prefix: Annotated[
        str, typer.Option(help="Put before every topic, to keep two replays of one stream apart.")
    ] = "",
    labels: Annotated[
        str, typer.Option(help="'model': classify; 'given': store the stream's own (human) labels.")
    ] = "model",
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Most items per job.")] = 256,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items (by time).")] = None,
    url: Annotated[str, typer.Option(help="Base URL of a running product.")] = "",
    run_id: Annotated[
        str | None, typer.Option(help="Reuse to resume an interrupted replay without sending twice.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait until every job is stored, and report items/s.")] = True,
    compare_raw: Annotated[
        bool,
        typer.Option(
            help="Also time the model's raw batched forward pass here, before and after, on 1,000 of the "
            "stream's texts, and print the replay's speed as a share of it (needs the models locally)."
        ),
    ] = False,
) -> None:
    """Replay a recorded stream through the REST API at a chosen speed, with progress."""
    from dataclasses import replace

    import httpx
    from tqdm import tqdm

    from cli.replay import replay as run_replay
    from cli.streams import StreamFormat, read_stream

    settings = get_settings()
    try:
        items = read_stream(path, StreamFormat(stream_format), topic)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if labels not in ("model", "given"):
        raise typer.BadParameter("labels must be 'model' or 'given'", param_hint="--labels")
    items = items[:limit] if limit else items
    if topic_prefix:
        items = [replace(item, topic=f"{topic_prefix}{item.topic}"[:100]) for item in items]
    if labels == "given" and any(item.label is None for item in items):
        raise typer.BadParameter(f"{path} has items without a label", param_hint="--labels")
    if compare_raw and (labels != "model" or not wait):
        raise typer.BadParameter("needs --labels model and --wait", param_hint="--compare-raw")
    raw_texts = [item.text for item in items[:RAW_COMPARISON_TEXTS]]
    raw_before = _raw_speed(settings, model, raw_texts) if compare_raw else None
    base_url = url or f"http://{settings.web_host}:{settings.web_port}"
    headers = {"Authorization": f"Bearer {settings.api_token.get_secret_value()}"}
    span = items[-1].occurred_at - items[0].occurred_at
    log.info("%s: %d items over %s of stream time, at speed %g", path, len(items), span, speed)
    with (
        httpx.Client(base_url=base_url, headers=headers, timeout=60) as client,
        tqdm(total=len(items), unit="item", desc="replay", disable=None) as bar,
    ):
        report = run_replay(
            client,
            items,
            speed=speed,
            batch_size=batch_size,
            model=model,
            given_labels=labels == "given",
            run_id=run_id,
            wait=wait,
            progress=bar.update,
        )
    log.info("sent %d items in %d jobs in %.1f s", report.items, len(report.jobs), report.sent_s)
    if report.stored_s is not None:
        log.info(
            "all stored after %.1f s: %.1f items/s; %d jobs failed",
            report.stored_s,
            report.items_per_s,
            report.failed_jobs,
        )
    if raw_before is not None and report.items_per_s is not None:
        raw_after = _raw_speed(settings, model, raw_texts)
        raw = (raw_before + raw_after) / 2
        log.info(
            "raw batched forward pass of %s: %.1f texts/s (%.1f before, %.1f after); system / raw = %.2f",
            model,
            raw,
            raw_before,
            raw_after,
            report.items_per_s / raw,
        )
    if report.failed_jobs:
        raise typer.Exit(1)


# The raw speed drifts by 10-20 % between minutes here; timing it before and after the replay and
# comparing with the mean keeps the ratio honest (as `queuebot benchmark` does).
RAW_COMPARISON_TEXTS = 1000


def _raw_speed(settings: Settings, model: str, texts: list[str]) -> float:
    from cli.benchmark import raw_forward_speed
    from workers.model_store import ModelStore

    return raw_forward_speed(ModelStore(settings.models_dir).folder(model), texts, settings.device)


@app.command()
def benchmark(
    texts: Annotated[int, typer.Option(min=64, help="Texts for the raw and system runs.")] = 1000,
    job_size: Annotated[int, typer.Option(min=1, max=256, help="Texts per job in the system run.")] = 50,
    naive_texts: Annotated[int, typer.Option(min=1, help="Texts sent to the naive worker.")] = 300,
    clients: Annotated[int, typer.Option(min=1, help="Concurrent API clients.")] = 16,
) -> None:
    """Throughput: raw forward vs. the whole system vs. a naive worker; batched vs. sequential generation."""
    from rich.console import Console
    from rich.table import Table

    from cli.benchmark import BenchmarkOptions, run_benchmark, targets

    options = BenchmarkOptions(texts=texts, job_size=job_size, naive_texts=naive_texts, clients=clients)
    figures = run_benchmark(get_settings(), options)
    table = Table(title="queuebot benchmark")
    for column in ("measurement", "value", "unit", "how"):
        table.add_column(column)
    for figure in figures:
        table.add_row(figure.name, f"{figure.value:,.1f}", figure.unit, figure.note)
    checks = Table(title="targets")
    for column in ("ratio", "measured", "target", "met"):
        checks.add_column(column)
    for name, value, target, met in targets(figures):
        checks.add_row(name, f"{value:,.2f}", target, "yes" if met else "NO")
    console = Console()
    console.print(table)
    console.print(checks)


@app.command()
def slack() -> None:
    """Run the Slack bot over Socket Mode (needs QUEUEBOT_SLACK_BOT_TOKEN and QUEUEBOT_SLACK_APP_TOKEN)."""
    from bots.slack.socket_mode import serve_socket_mode

    serve_socket_mode(get_settings())


@app.command()
def migrate() -> None:
    """Apply database migrations up to the newest."""
    from db.migrate import upgrade_to_head

    url = get_settings().sqlalchemy_url
    upgrade_to_head(url)
    log.info("database at %s is up to date", url)


if __name__ == "__main__":
    app()
