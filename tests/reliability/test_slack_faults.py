"""Slack's delivery rules under load: each mention delivered three times at once (the first delivery
and Slack's two retries, as when an ack is slow) gets exactly one reply in its thread, while forged
and stale requests sent alongside are refused and start nothing."""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from core.jobs import JobSource, JobStatus
from db.engine import session_scope
from db.models import Conversation, DeliveryStatus, Job, Message, MessageRole, SlackDelivery
from tests.reliability.report import ReliabilityReport
from tests.support.slack_fake import FakeSlack
from tests.support.slack_requests import SlackSender, event_envelope, mention
from tests.support.waiting import ensure_not_for_a_while, wait_for

log = logging.getLogger(__name__)

pytestmark = pytest.mark.usefixtures("celery_worker")

EVENTS = 20
# The first delivery, then Slack's retries 1 and 2.
DELIVERIES = (None, 1, 2)
FORGERIES_PER_KIND = 10
FORGED_SIGNATURE = "v0=" + "0" * 64
# Slack's signatures are good for five minutes.
STALE_S = 6 * 60


@dataclass(frozen=True)
class SlackThread:
    channel: str
    event: dict[str, Any]
    event_id: str

    @property
    def key(self) -> str:
        return f"slack-event:{self.event_id}"


@dataclass(frozen=True)
class Forgery:
    """A mention in a channel of its own, sent with a wrong signature or an old timestamp."""

    channel: str
    event_id: str
    options: dict[str, str]


def send_forgery(slack: SlackSender, forgery: Forgery) -> httpx.Response:
    body = json.dumps(
        event_envelope(mention(forgery.channel, "UMALLORY", "cancel everything"), forgery.event_id)
    )
    return slack.post(body, "application/json", **forgery.options)


@pytest.fixture
def channels() -> Iterator[list[str]]:
    """The test's own channels, one per thread; it ends when their deliveries have ended, so no
    worker thread is still posting for them while the next test runs."""
    names: list[str] = []
    yield names
    wait_for(
        lambda: pending_deliveries(names),
        "no delivery to the test's channels pending",
        until=lambda pending: pending == 0,
        interval_s=0.05,
    )


def new_channel(channels: list[str]) -> str:
    name = f"C{uuid.uuid4().hex[:10].upper()}"
    channels.append(name)
    return name


def new_event_id() -> str:
    return f"Ev{uuid.uuid4().hex[:10].upper()}"


def pending_deliveries(channels: list[str]) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(SlackDelivery)
                .where(SlackDelivery.channel.in_(channels), SlackDelivery.status == DeliveryStatus.PENDING)
            )
            or 0
        )


def job_statuses(key: str) -> list[JobStatus]:
    with session_scope() as session:
        return list(session.scalars(select(Job.status).where(Job.idempotency_key == key)))


def deliveries_in(channel: str) -> int:
    with session_scope() as session:
        return (
            session.scalar(
                select(func.count()).select_from(SlackDelivery).where(SlackDelivery.channel == channel)
            )
            or 0
        )


def thread_messages(thread: SlackThread) -> dict[MessageRole, list[str]]:
    """The texts stored in the thread's conversation, by who wrote them."""
    external_id = f"{thread.channel}:{thread.event['ts']}"
    with session_scope() as session:
        rows = session.execute(
            select(Message.role, Message.text)
            .join(Conversation)
            .where(Conversation.source == JobSource.SLACK, Conversation.external_id == external_id)
        ).all()
    messages: dict[MessageRole, list[str]] = {role: [] for role in MessageRole}
    for role, text in rows:
        messages[role].append(text)
    return messages


def wait_for_replies(fake_slack: FakeSlack, threads: list[SlackThread]) -> None:
    """Until every thread's placeholder has been replaced, or the time is up: a thread left without
    one is counted lost, not raised here."""
    with contextlib.suppress(AssertionError):
        wait_for(
            lambda: [t.channel for t in threads if not fake_slack.answers_in(t.channel)],
            "every thread answered",
            until=lambda unanswered: not unanswered,
            interval_s=0.05,
        )


def doubled_threads(fake_slack: FakeSlack, threads: list[SlackThread]) -> list[str]:
    """The channels of the threads with a second reply job or a second answer so far."""
    return [
        thread.channel
        for thread in threads
        if len(job_statuses(thread.key)) > 1 or len(fake_slack.answers_in(thread.channel)) > 1
    ]


def test_mentions_delivered_three_times_at_once_get_one_reply_each_and_forgeries_start_nothing(
    slack: SlackSender, fake_slack: FakeSlack, channels: list[str], reliability_report: ReliabilityReport
) -> None:
    threads = []
    for number in range(EVENTS):
        channel = new_channel(channels)
        event = mention(channel, "UALICE", f"Where is my order number {number}?")
        threads.append(SlackThread(channel, event, new_event_id()))
    stale = str(int(time.time()) - STALE_S)
    forgeries = [
        Forgery(new_channel(channels), new_event_id(), options)
        for options in ({"signature_override": FORGED_SIGNATURE}, {"timestamp": stale})
        for _ in range(FORGERIES_PER_KIND)
    ]

    with reliability_report.scenario("Slack retries and forged signatures") as row:
        row.jobs = len(threads) + len(forgeries)
        # Lost until its reply is seen in the thread, so a run cut short still counts it.
        row.lost = len(threads)
        # A thread's deliveries follow one another in the list, so the pool sends them at once.
        deliveries = [(thread, retry) for thread in threads for retry in DELIVERIES]
        with ThreadPoolExecutor(8) as pool:
            genuine = list(
                pool.map(
                    lambda d: slack.event(d[0].event, event_id=d[0].event_id, retry_num=d[1]), deliveries
                )
            )
            refused = list(pool.map(lambda forgery: send_forgery(slack, forgery), forgeries))
        genuine_errors = sum(not response.is_success for response in genuine)
        forged_let_in = sum(response.status_code != 401 for response in refused)

        wait_for_replies(fake_slack, threads)
        # Room for a second reply, were one coming; one that shows ends the watch, and is counted
        # duplicated below with the rest, in the report row.
        with contextlib.suppress(AssertionError):
            ensure_not_for_a_while(
                lambda: doubled_threads(fake_slack, threads),
                "a second reply job or answer in a thread",
                for_s=1.0,
                interval_s=0.2,
            )

        lost = duplicated = failed = spare_placeholders = 0
        for thread in threads:
            statuses = job_statuses(thread.key)
            messages = thread_messages(thread)
            replies = [
                call.params.get("text") for call in fake_slack.calls_to("chat.update", channel=thread.channel)
            ]
            # Placeholders and messages answers were streamed into that are still there.
            shown = sum(fake_slack.visible_messages(thread.channel).values(), [])
            deleted = fake_slack.calls_to("chat.delete", channel=thread.channel)
            streamed = fake_slack.streams_in(thread.channel)
            # Answered: the reply the job stored is the one that replaced the placeholder.
            lost += not any(text in messages[MessageRole.BOT] for text in replies)
            # Concurrent deliveries may each post a placeholder; all but the job's own are deleted.
            duplicated += (
                len(statuses) > 1
                or len(fake_slack.answers_in(thread.channel)) > 1
                or len(shown) > 1
                or len(messages[MessageRole.USER]) > 1
                or len(messages[MessageRole.BOT]) > 1
            )
            failed += JobStatus.FAILED in statuses
            # A streamed answer deletes the placeholder it replaces: that one is no spare.
            spare_placeholders += len(deleted) - len(streamed)

        # A forgery that started anything: a job under its event id, a delivery or a post in its channel.
        forged_started = 0
        for forgery in forgeries:
            forged_started += bool(
                job_statuses(f"slack-event:{forgery.event_id}")
                or deliveries_in(forgery.channel)
                or fake_slack.calls_to("chat.postMessage", channel=forgery.channel)
            )

        row.lost, row.duplicated = lost, duplicated
        row.errors = genuine_errors + failed + forged_let_in + forged_started
        row.detail = (
            f"{len(threads)} mentions x {len(DELIVERIES)} deliveries, 8 at a time: "
            f"{len(genuine) - genuine_errors} acked, {spare_placeholders} racing placeholders deleted, "
            f"{failed} reply jobs failed; "
            f"{len(forgeries)} forged or stale: {len(refused) - forged_let_in} got 401, "
            f"{forged_started} started something"
        )
        log.info("slack faults: %s", row.detail)

    assert row.lost == row.duplicated == row.errors == 0, row.detail
