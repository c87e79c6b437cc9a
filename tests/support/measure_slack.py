"""Measure the Slack bot on real parts, with Slack replaced by the loopback fake the tests use.

    .venv/bin/python -m tests.support.measure_slack [--mentions 20] [--commands 20]

Starts a private stack (Redis, SQLite, a worker with the models in QUEUEBOT_MODELS_DIR, the web app
on a free port) and the fake Slack Web API, then sends signed requests one at a time and prints:
- ack time: the signed POST to /slack/events until its HTTP answer (Slack gives up after 3 s);
- mention to answer: the POST until the worker's chat.update of the placeholder reaches Slack;
- /ask to answer: the POST until the delivery posts to the command's response URL.
Each mention uses its own channel, so Slack's one-message-per-second pace does not add to it.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from cli.embedded import EmbeddedStack
from cli.logging_setup import configure_logging
from cli.redis_server import free_port
from core.settings import get_settings
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, command_via_fake, mention

log = logging.getLogger("measure_slack")
SIGNING_SECRET = "measure-signing-secret"
WARM_UP_TIMEOUT_S = 300.0


def _summary(name: str, seconds: list[float]) -> tuple[str, ...]:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return name, str(len(ms)), f"{statistics.median(ms):.1f}", f"{p95:.1f}", f"{ms[-1]:.1f}"


def measure(mentions: int, commands: int) -> list[tuple[str, ...]]:
    fake = FakeSlack(free_port())
    fake.start()
    with tempfile.TemporaryDirectory(prefix="queuebot-measure-slack-") as scratch:
        settings = get_settings().model_copy(
            update={
                "var_dir": Path(scratch),
                "database_url": "",
                "redis_url": f"redis://127.0.0.1:{free_port()}/0",
                "web_host": "127.0.0.1",
                "web_port": free_port(),
                "slack_bot_token": SecretStr("xoxb-measure"),
                "slack_signing_secret": SecretStr(SIGNING_SECRET),
                "slack_api_url": fake.base_url,
            }
        )
        stack = EmbeddedStack(settings)
        try:
            stack.start_storage()
            stack.import_demo_knowledge()
            stack.start_worker(pool=settings.worker_pool, concurrency=settings.worker_concurrency)
            stack.start_web()
            with httpx.Client(base_url=stack.base_url, timeout=10) as client:
                sender = SlackSender(client, SIGNING_SECRET)
                _mention_round_trip(sender, fake, timeout_s=WARM_UP_TIMEOUT_S)  # waits for model warm-up
                acks, answers = [], []
                for _ in range(mentions):
                    ack_s, answer_s = _mention_round_trip(sender, fake)
                    acks.append(ack_s)
                    answers.append(answer_s)
                command_acks, command_answers = [], []
                for _ in range(commands):
                    ack_s, answer_s = _ask_round_trip(sender, fake)
                    command_acks.append(ack_s)
                    command_answers.append(answer_s)
        finally:
            stack.stop()
            fake.stop()
    return [
        _summary("mention: ack", acks),
        _summary("mention: answer", answers),
        _summary("/ask: ack", command_acks),
        _summary("/ask: answer", command_answers),
    ]


def _mention_round_trip(sender: SlackSender, fake: FakeSlack, timeout_s: float = 60.0) -> tuple[float, float]:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    started = time.monotonic()
    response = sender.event(mention(channel, "UMEASURE", "I want to cancel my order"))
    acked = time.monotonic()
    response.raise_for_status()
    [update] = fake.wait_for("chat.update", channel=channel, timeout_s=timeout_s)
    return acked - started, update.at - started


def _ask_round_trip(sender: SlackSender, fake: FakeSlack) -> tuple[float, float]:
    channel = f"C{uuid.uuid4().hex[:10].upper()}"
    started = time.monotonic()
    response, _ = command_via_fake(
        sender, fake, "/ask", "How do I get a refund?", channel=channel, user="UMEASURE", url_name=channel
    )
    acked = time.monotonic()
    response.raise_for_status()
    [posted] = fake.wait_for(f"response:{channel}")
    return acked - started, posted.at - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=20)
    parser.add_argument("--commands", type=int, default=20)
    args = parser.parse_args()
    configure_logging(logging.WARNING)
    table = Table(title="queuebot Slack bot, Slack replaced by a loopback fake")
    for column in ("measurement", "n", "p50 ms", "p95 ms", "max ms"):
        table.add_column(column)
    for row in measure(args.mentions, args.commands):
        table.add_row(*row)
    Console().print(table)


if __name__ == "__main__":
    main()
