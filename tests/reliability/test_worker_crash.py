"""One of two workers SIGKILLed with a thousand Slack questions in flight: the other goes on, and every
question ends with its reply job done exactly once, one bot message in its conversation and one answer
in its Slack thread; nothing stays queued or running.

Everything is real: signed Slack events to the web app under uvicorn, Redis, Celery workers and beat
in their own processes, the suite's database (SQLite, or PostgreSQL in make test's second pass) and
tiny models, a fake of Slack's Web API.
What recovers the killed worker's jobs is the sweeper (beat sends it every second here): jobs it was
running are known dead when its heartbeat stops, messages it had taken and not started are known lost
when they stay unacknowledged past the grace, Slack posts it had not made are sent again.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from core.jobs import JobStatus
from core.settings import get_settings
from db.engine import session_scope
from db.models import Conversation, Job, Message, MessageRole
from tests.reliability.fleet import Fleet, running_fleet
from tests.reliability.report import ReliabilityReport, ScenarioResult
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, mention
from tests.support.waiting import ensure_not_for_a_while, wait_for

QUESTIONS = 1_000
# The kill comes once this share of the replies is done, so hundreds are still queued, some running,
# some taken by the worker and not started, and some answered but not yet posted.
KILL_AFTER_SHARE = 0.2
# A fifth of the replies, by two workers from their start: bulk work, bounded longer than
# one outcome (tests/support/waiting.py).
REPLIES_STARTED_TIMEOUT_S = 600.0
SETTLE_TIMEOUT_S = 900.0
QUESTION_TEXTS = (
    "I want to cancel my order",
    "How do I get a refund?",
    "Where is my package?",
    "I need to change my shipping address",
    "can I pay with paypal",
)


@pytest.fixture
def fleet(
    tmp_path: Path, fake_slack: FakeSlack, database: str, tiny_models_dir: Path, knowledge_base: Path
) -> Iterator[Fleet]:
    with running_fleet(tmp_path, tiny_models_dir) as fleet:
        yield fleet


def test_one_of_two_workers_killed_with_a_thousand_jobs_in_flight_loses_nothing_and_doubles_nothing(
    fleet: Fleet, fake_slack: FakeSlack, reliability_report: ReliabilityReport
) -> None:
    channel = f"CCRASH{uuid.uuid4().hex[:6].upper()}"
    secret = get_settings().slack_signing_secret
    assert secret is not None
    with reliability_report.scenario("one of two workers SIGKILLed mid-job") as row:
        row.jobs = QUESTIONS
        events = [
            mention(channel, f"U{i:05d}", QUESTION_TEXTS[i % len(QUESTION_TEXTS)]) for i in range(QUESTIONS)
        ]
        event_ids = [f"EvCRASH{uuid.uuid4().hex[:12].upper()}" for _ in events]
        with httpx.Client(base_url=fleet.web_url, timeout=60) as client:
            sender = SlackSender(client, secret.get_secret_value())
            with ThreadPoolExecutor(8) as pool:
                statuses = list(
                    pool.map(
                        lambda pair: sender.event(pair[0], event_id=pair[1]).status_code,
                        zip(events, event_ids, strict=True),
                    )
                )
        keys = [f"slack-event:{event_id}" for event_id in event_ids]
        wait_for(
            lambda: _count_jobs(keys),
            "every question stored as a job",
            until=lambda stored: stored == QUESTIONS,
            interval_s=0.2,
        )

        # Two workers share the queues, as two machines of a deployment do; the kill takes one.
        fleet.start_worker("first")
        fleet.start_worker("second")
        wait_for(
            lambda: _count_jobs(keys, JobStatus.DONE),
            "replies started",
            until=lambda done: done >= QUESTIONS * KILL_AFTER_SHARE,
            timeout_s=REPLIES_STARTED_TIMEOUT_S,
            interval_s=0.2,
        )
        at_kill = _status_counts(keys)
        fleet.kill("first")
        killed_at = time.monotonic()

        settled = _wait_until_settled(keys, channel, fake_slack)
        recovery_s = time.monotonic() - killed_at
        row.detail = (
            f"killed with {at_kill}; settled {recovery_s:.0f} s later: {settled}; "
            f"jobs run again after the kill: {_count_rerun(keys)}; "
            f"other restarts: {sum(fleet.restarts.values())}"
        )
        _count(row, keys, events, channel, fake_slack, statuses)

    assert (row.lost, row.duplicated, row.errors) == (0, 0, 0), row.detail


def _count(
    row: ScenarioResult,
    keys: list[str],
    events: list[dict[str, str]],
    channel: str,
    fake_slack: FakeSlack,
    statuses: list[int],
) -> None:
    with session_scope() as session:
        jobs = dict(
            session.execute(
                select(Job.idempotency_key, Job.status).where(Job.idempotency_key.in_(keys))
            ).all()
        )
        bot_messages = Counter(
            dict(
                session.execute(
                    select(Conversation.external_id, func.count(Message.id))
                    .join(Message, Message.conversation_id == Conversation.id)
                    .where(Conversation.external_id.like(f"{channel}:%"), Message.role == MessageRole.BOT)
                    .group_by(Conversation.external_id)
                ).all()
            )
        )
    # Messages the customer still sees (placeholders, or the messages answers were streamed into): an
    # extra placeholder the bot deleted again is no duplicate.
    shown = fake_slack.visible_messages(channel)
    visible = Counter({thread: len(messages) for thread, messages in shown.items()})
    answered = Counter(call.params.get("ts") for call in fake_slack.answers_in(channel))
    posted_ts = {thread: messages[-1] for thread, messages in shown.items()}
    problems: list[str] = []
    for key, event, status in zip(keys, events, statuses, strict=True):
        thread = event["ts"]
        job_status = jobs.get(key)
        if status != 200 or job_status is JobStatus.FAILED:
            row.errors += 1
        elif job_status is not JobStatus.DONE or not answered.get(posted_ts.get(thread)):
            row.lost += 1
        # More than one message the customer sees in the thread, or two replies stored.
        if visible[thread] > 1 or bot_messages[f"{channel}:{thread}"] > 1:
            row.duplicated += 1
            replies = bot_messages[f"{channel}:{thread}"]
            problems.append(f"thread {thread}: {visible[thread]} messages, {replies} replies stored")
        elif job_status is not JobStatus.DONE or status != 200:
            problems.append(f"thread {thread}: event answered {status}, job {job_status}")
    if problems:
        row.detail += "; first problems: " + "; ".join(problems[:5])


def _wait_until_settled(keys: list[str], channel: str, fake_slack: FakeSlack) -> str:
    """Every job final and every thread answered; says how far it got if time runs out (the
    scenario counts what is missing in its report row rather than failing here)."""

    def progress() -> tuple[dict[str, int], int]:
        answered = {call.params.get("ts") for call in fake_slack.answers_in(channel)}
        return _status_counts(keys), len(answered)

    def settled(seen: tuple[dict[str, int], int]) -> bool:
        counts, answered = seen
        done = counts.get("done", 0)
        return done + counts.get("failed", 0) == len(keys) and answered >= done

    try:
        counts, answered = wait_for(
            progress,
            "every job final and every thread answered",
            until=settled,
            timeout_s=SETTLE_TIMEOUT_S,
            interval_s=1,
        )
    except AssertionError as error:
        return f"NOT settled: {error}"
    # A moment for any second post that a duplicate delivery would make; one that shows ends the
    # watch, and _count counts it in the report row.
    try:
        ensure_not_for_a_while(
            lambda: _doubled_threads(channel, fake_slack),
            "a second message or reply in a thread",
            for_s=3.0,
            interval_s=0.5,
        )
    except AssertionError as error:
        return f"{counts}, {answered} threads answered; then {error}"
    return f"{counts}, {answered} threads answered"


def _doubled_threads(channel: str, fake_slack: FakeSlack) -> list[str]:
    """The threads with more than one message left (placeholders not deleted, streamed answers) or more
    than one reply stored, so far."""
    visible = {thread: len(messages) for thread, messages in fake_slack.visible_messages(channel).items()}
    with session_scope() as session:
        replied_twice = session.scalars(
            select(Conversation.external_id)
            .join(Message, Message.conversation_id == Conversation.id)
            .where(Conversation.external_id.like(f"{channel}:%"), Message.role == MessageRole.BOT)
            .group_by(Conversation.external_id)
            .having(func.count(Message.id) > 1)
        ).all()
    return sorted(
        {f"{thread}: {count} messages" for thread, count in visible.items() if count > 1}
        | {f"{external_id}: replies stored twice or more" for external_id in replied_twice}
    )


def _status_counts(keys: list[str]) -> dict[str, int]:
    with session_scope() as session:
        rows = session.execute(
            select(Job.status, func.count()).where(Job.idempotency_key.in_(keys)).group_by(Job.status)
        ).all()
    return {status.value: count for status, count in rows}


def _count_jobs(keys: list[str], status: JobStatus | None = None) -> int:
    query = select(func.count()).select_from(Job).where(Job.idempotency_key.in_(keys))
    if status is not None:
        query = query.where(Job.status == status)
    with session_scope() as session:
        return session.scalar(query) or 0


def _count_rerun(keys: list[str]) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(Job).where(Job.idempotency_key.in_(keys), Job.attempts > 1)
            )
            or 0
        )
