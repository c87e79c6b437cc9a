"""Test configuration: a private environment, set before any project module is imported.

Celery reads its broker URL when ``workers.celery_app`` is imported, so the Redis port is chosen
here, at collection time; the session fixtures start the real servers on it.
"""

import os
import tempfile
from pathlib import Path

import pytest

from cli.redis_server import free_port
from tests.support.database_choice import main_database_url

_state_dir = tempfile.mkdtemp(prefix="queuebot-tests-")
SLACK_API_PORT = free_port()
os.environ.update(
    {
        "QUEUEBOT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "QUEUEBOT_VAR_DIR": _state_dir,
        "QUEUEBOT_DATABASE_URL": main_database_url(Path(_state_dir)),
        "QUEUEBOT_MODELS_DIR": os.path.join(_state_dir, "models-not-built-yet"),
        "QUEUEBOT_API_TOKEN": "test-token",
        # Every test shares one token and one address, and polls jobs every 50 ms: the limits would
        # refuse tests that have nothing to do with them. tests/reliability turns them on.
        "QUEUEBOT_API_RATE_LIMIT": "0",
        "QUEUEBOT_AUTH_FAILURE_LIMIT": "0",
        "QUEUEBOT_DEVICE": "cpu",
        # A wide batching window so that jobs sent together in a test reliably meet in one batch.
        "QUEUEBOT_CLASSIFY_BATCH_WAIT_MS": "100",
        # The tiny GPT-2 writes word salad, which the grounding check rightly refuses; the end-to-end
        # tests of the generation path send what it writes (the check has its own tests).
        "QUEUEBOT_REPLY_MIN_GROUNDING": "-1",
        # Slack: the bot and the workers talk to a fake Web API on loopback (tests/support/slack_fake.py).
        "QUEUEBOT_SLACK_BOT_TOKEN": "xoxb-test-token",
        "QUEUEBOT_SLACK_SIGNING_SECRET": "test-signing-secret",
        "QUEUEBOT_SLACK_API_URL": f"http://127.0.0.1:{SLACK_API_PORT}/api/",
        "QUEUEBOT_SLACK_ALERTS_CHANNEL": "CALERTS",
        "QUEUEBOT_SLACK_MONITORED_CHANNELS": '{"CMONITORED": "billing", "CNOTOPIC": ""}',
        "QUEUEBOT_TOPIC_KEYWORDS": '{"refunds": ["refund", "money back"]}',
        # Reports every 3 s of arrivals, so a test sees beat make one; tests of older periods pass
        # their own clock.
        "QUEUEBOT_SLACK_REPORTS_CHANNEL": "CREPORTS",
        "QUEUEBOT_REPORT_PERIOD_S": "3",
        "QUEUEBOT_REPORT_CHECK_S": "1",
        "QUEUEBOT_REPORT_GRACE_S": "0.5",
        # PostgreSQL: a writer gives up on a held lock after 3 s, not 10 (the lock scenario waits it out).
        "QUEUEBOT_DATABASE_LOCK_TIMEOUT_S": "3",
        # Worker processes beat every second, so a test's dead process is known within 3 s.
        "QUEUEBOT_WORKER_HEARTBEAT_S": "1",
    }
)

pytest_plugins = [
    "tests.support.model_fixtures",
    "tests.support.knowledge_fixtures",
    "tests.support.stack_fixtures",
]


@pytest.fixture(autouse=True)
def _cli_leaves_logging_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's logging setup replaces the root handlers with a stream handler on the stderr that
    CliRunner gives each command and closes after it; the in-process worker's threads, still running,
    would then log into a closed file. Tests of the CLI check what it prints and stores, not this."""
    import cli.main

    monkeypatch.setattr(cli.main, "configure_logging", lambda *args, **kwargs: None)
