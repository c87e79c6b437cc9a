"""Socket Mode, the other way in: the same listeners answer envelopes from a WebSocket, and a first
delivery (which bolt marks with retry number 0) is handled like any other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bots.slack.socket_mode import socket_mode_handler
from cli.redis_server import free_port
from core.settings import get_settings
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import event_envelope, mention
from tests.support.slack_socket_fake import FakeSocketMode

pytestmark = pytest.mark.usefixtures("celery_worker", "database")


@pytest.fixture(scope="module")
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    server = FakeSocketMode(free_port())
    server.start()
    fake_slack.socket_mode_url = server.url
    settings = get_settings().model_copy(update={"slack_app_token": SecretStr("xapp-test-token")})
    handler: SocketModeHandler = socket_mode_handler(settings)
    handler.connect()
    yield server
    handler.close()
    server.stop()


def test_a_mention_over_socket_mode_is_acked_and_answered_in_its_thread(
    socket_mode: FakeSocketMode, fake_slack: FakeSlack, channel: str
) -> None:
    event = mention(channel, "UALICE", "I want to cancel my order")

    envelope_id = socket_mode.send("events_api", event_envelope(event), retry_attempt=0)

    assert socket_mode.wait_for_ack(envelope_id) == {"envelope_id": envelope_id}
    [placeholder] = fake_slack.wait_for("chat.postMessage", channel=channel)
    assert placeholder.params["thread_ts"] == event["ts"]
    [answer] = fake_slack.wait_for("chat.update", channel=channel)
    assert answer.params["ts"] == fake_slack.posted_ts(placeholder)


def test_a_slash_command_over_socket_mode_is_acked_with_its_job(
    socket_mode: FakeSocketMode, fake_slack: FakeSlack, channel: str
) -> None:
    command = {
        "command": "/ask",
        "text": "How do I get a refund?",
        "channel_id": channel,
        "user_id": "UALICE",
        "team_id": "TQUEUEBOT",
        "response_url": fake_slack.response_url(channel),
        "trigger_id": "1.2.3",
    }

    envelope_id = socket_mode.send("slash_commands", command)

    ack = socket_mode.wait_for_ack(envelope_id)
    assert ack["payload"]["response_type"] == "ephemeral"
    assert ack["payload"]["text"].startswith(":hourglass_flowing_sand: Working on it: job `")
    fake_slack.wait_for(f"response:{channel}")
