"""A running job's text shown in its Slack thread as it is written: Slack's chat streaming, or throttled
updates of the placeholder where Slack refuses to stream.

**Who streams.** A Celery task on the io queue (``queuebot.stream_to_slack``), sent by a job-started
hook when a Slack job that writes text (a reply, which may take the generation path; a generation) is
claimed with a thread to answer in. The io queue, because every Slack call is made there and never in a
model worker: a slow Slack holds no decoding thread, and the channel's pace, the rate limits and the
sweeper's recovery apply as to every other post. Sent when the job is claimed rather than when it is
asked for, so that a job waiting in its queue holds no io thread; the streamer then holds one for as
long as the job runs (the io worker's concurrency bounds how many answers are written into Slack at
once; the rest arrive whole).

**What it shows.** The job's text (core/job_text.py: pieces in a Redis stream), first sequence only:

- ``chat.startStream`` once there is text, as a reply in the thread addressed to the asker
  (``recipient_user_id``, ``recipient_team_id``: Slack requires them in channels). The placeholder
  ("Working on it…") is deleted, and the streamed message becomes the delivery's placeholder;
- ``chat.appendStream`` with the text written since the last call, at most once per
  ``slack_stream_interval_s`` (1 s) per message: the text decoded in between goes in one call, so a
  fast decoder makes a few large appends, never one per token. A 429 is waited out (``Retry-After``)
  while the text piles up for the next call;
- where Slack refuses to stream (any error that is neither a rate limit nor an outage:
  ``method_not_supported``, ``not_allowed``, a channel type it does not stream in, a missing scope, a
  stream that expired), or ``slack_streaming`` is "update": ``chat.update`` of the placeholder (posted
  first where there is none) with the text so far, at most once per interval per message and
  ``slack_preview_calls_per_minute`` (30) times a minute for the whole workspace. Slack counts limits
  per method and workspace, and chat.update is Tier 3 (50+ a minute) and also carries the final
  answers, so one update a second per message is safe for one answer at a time but not for several;
  a preview over the budget is only late.

A job run again starts its text anew (a reset piece): streamed text cannot be taken back, so the
stream is stopped and the message follows the new run by updates.

**How it ends, exactly once.** The job row's result is the text of record. When the job is final the
stream is stopped, with the rest of the stored text when the stored text continues what was streamed
(so the stream's chunks join to it), without when it does not (a generated reply the guard refused
becomes the hand-off message). Then the delivery task, the one writer of every answer, replaces the
message with the stored answer, its small print and its feedback buttons (``chat.update`` of the
placeholder, which is now this message). The streamer and the delivery post only while they hold the
delivery's lease; the streamer renews it as it follows, so a delivery sent meanwhile (the job-finished
hook's) finds it taken and leaves the answer to the streamer, which sends the delivery again when it
lets go of a final job (the sweeper does, should the streamer die). A delivery is followed by one
streamer only, even when its job runs again.

**A message nobody stored.** A streamer that dies between Slack's answer to ``chat.startStream`` and
storing the message's ts, or a start that failed in transit but was carried out, leaves a message that
no row names. The streamer marks the delivery before it asks (``stream_requested_at``) and clears the
mark when it stores the message; the delivery finds a mark still set and removes the orphan first
(workers/slack/stream_orphans.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from contextlib import closing
from dataclasses import dataclass

from redis.client import PubSub
from sqlalchemy import select, update

from core.job_text import START, STREAMED_KINDS, TextPiece, read_pieces
from core.jobs import SLACK_STREAM_ROUTE, JobSource
from core.redis_keys import job_events_channel
from core.settings import get_settings
from db.engine import session_scope
from db.models import DeliveryStatus, Job, SlackDelivery
from workers.celery_app import celery_app
from workers.redis_client import redis_client
from workers.slack.client import PermanentSlackError, RetryLater, bot_identity, slack_client, slack_errors
from workers.slack.coordination import (
    claim_channel_slot,
    claim_preview_call,
    claim_stream,
    release_delivery_lease,
    renew_delivery_lease,
    take_delivery_lease,
)
from workers.slack.delivery import enqueue_deliveries
from workers.slack.messages import job_message
from workers.slack.stream_orphans import clear_stream_request, mark_stream_requested

log = logging.getLogger(__name__)

# Longest wait for new text before the streamer looks at the job's announcements and its pace again.
WAIT_MS = 200
# The job row is read at least this often, in case an announcement was lost.
STATUS_RECHECK_S = 2.0
# How long a preview waits when the minute's budget is spent.
BUDGET_WAIT_S = 1.0
# A preview by updates says that more is coming.
MORE_TO_COME = " …"


def start_streaming(job: Job) -> None:
    """Job-started hook: send the streamer for a Slack job whose text can be shown in a thread."""
    settings = get_settings()
    if settings.slack_streaming == "off" or not settings.slack_enabled:
        return
    if job.source is not JobSource.SLACK or job.kind not in STREAMED_KINDS:
        return
    with session_scope() as session:
        delivery = session.scalar(select(SlackDelivery).where(SlackDelivery.job_id == job.id))
        if delivery is None or not _streamable(delivery):
            return
        delivery_id = delivery.id
    celery_app.send_task(
        SLACK_STREAM_ROUTE.task_name, args=[delivery_id], queue=SLACK_STREAM_ROUTE.queue.value
    )


def _streamable(delivery: SlackDelivery) -> bool:
    # A response URL's messages are ephemeral: Slack streams only into messages in a thread.
    return (
        delivery.status is DeliveryStatus.PENDING
        and delivery.thread_ts is not None
        and delivery.response_url is None
    )


@dataclass(frozen=True)
class StreamTarget:
    delivery_id: int
    job_id: str
    channel: str
    thread_ts: str
    placeholder_ts: str | None
    user_id: str | None


def stream_job_text(delivery_id: int) -> None:
    """Follow the delivery's job and show its text until the job is final (the module says how)."""
    if not take_delivery_lease(delivery_id):
        log.info("slack delivery %d: being posted already; nothing to stream", delivery_id)
        return
    job_id = None
    try:
        target = _target(delivery_id)
        if target is None:
            return
        job_id = target.job_id
        if not claim_stream(delivery_id):
            log.info("slack delivery %d: streamed once already; the answer comes whole", delivery_id)
            return
        preview = Preview(target)
        final = _follow(target, preview)
        preview.finish(_stored_text(job_id) if final else None)
    finally:
        release_delivery_lease(delivery_id)
        if job_id is not None:
            _deliver_if_final(job_id)


def _target(delivery_id: int) -> StreamTarget | None:
    with session_scope() as session:
        delivery = session.get(SlackDelivery, delivery_id)
        if delivery is None or not _streamable(delivery):
            return None
        assert delivery.thread_ts is not None
        return StreamTarget(
            delivery_id=delivery.id,
            job_id=delivery.job_id,
            channel=delivery.channel,
            thread_ts=delivery.thread_ts,
            placeholder_ts=delivery.placeholder_ts,
            user_id=delivery.user_id,
        )


def _follow(target: StreamTarget, preview: Preview) -> bool:
    """Show the job's text as it comes; True once the job is final, False when the streamer's time is
    up first (it stays within the tasks' soft time limit)."""
    settings = get_settings()
    deadline = time.monotonic() + max(settings.task_soft_time_limit_s - 10, 10)
    client = redis_client()
    after = START
    with closing(client.pubsub(ignore_subscribe_messages=True)) as announcements:
        announcements.subscribe(job_events_channel(target.job_id))
        # Read after subscribing: a job final before is seen here, one final after is announced.
        if _is_final(target.job_id):
            return True  # written already: the answer is posted whole
        checked_at = time.monotonic()
        while True:
            renew_delivery_lease(target.delivery_id)
            pieces = read_pieces(client, target.job_id, after, block_ms=WAIT_MS)
            after = preview.take(pieces, after)
            if _announced(announcements) or time.monotonic() - checked_at >= STATUS_RECHECK_S:
                checked_at = time.monotonic()
                if _is_final(target.job_id):
                    # Every piece was added before the job's final state was stored.
                    preview.take(read_pieces(client, target.job_id, after), after)
                    return True
            preview.show()
            if time.monotonic() >= deadline:
                log.warning(
                    "slack delivery %d: job %s still running; streaming stops",
                    target.delivery_id,
                    target.job_id,
                )
                return False


def _announced(announcements: PubSub) -> bool:
    seen = False
    while announcements.get_message(timeout=0) is not None:
        seen = True
    return seen


def _is_final(job_id: str) -> bool:
    with session_scope() as session:
        job = session.get(Job, job_id)
        return job is None or job.status.is_final


def _stored_text(job_id: str) -> str | None:
    """The text of the answer the delivery will post (the job's stored result, or why it failed)."""
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            return None
        text, _ = job_message(job)
        return text


def _deliver_if_final(job_id: str) -> None:
    # A delivery sent while this streamer held the lease left the post to it.
    try:
        if _is_final(job_id):
            enqueue_deliveries(job_id)
    except Exception:
        log.warning("job %s: delivery not sent again; the sweeper will", job_id, exc_info=True)


def _team_id() -> str | None:
    """The workspace the bot is installed in."""
    try:
        return bot_identity().team_id
    except (RetryLater, PermanentSlackError) as exc:
        log.warning("no team id for streaming (%s); streams go without a recipient", exc)
        return None


class Preview:
    """The text so far as the asker sees it in Slack, and the calls that keep it current."""

    def __init__(self, target: StreamTarget) -> None:
        settings = get_settings()
        self.target = target
        self.interval_s = settings.slack_stream_interval_s
        self.mode = "stream" if settings.slack_streaming == "stream" else "update"  # or "none"
        self.text = ""  # the first sequence's text so far, in the job's current run
        self.shown = ""  # the part of it that Slack shows
        self.stale = False  # the message shows something else (an earlier run's text)
        self.message_ts: str | None = None  # the message showing it (the stream, or the placeholder)
        self.streaming = False  # a stream is open on message_ts
        self.start_uncertain = False  # a failed chat.startStream may have created a message all the same
        self.next_call_at = 0.0

    def take(self, pieces: Iterable[TextPiece], after: str) -> str:
        """Add the pieces' text; returns the id to read on from."""
        for piece in pieces:
            after = piece.entry_id
            if piece.reset:
                self._restart()
            elif piece.choice == 0:
                self.text += piece.text
        return after

    def show(self) -> None:
        """Bring Slack up to date, when there is something new and the pace allows it."""
        if self.mode == "none" or not self.text or (self.text == self.shown and not self.stale):
            return
        if time.monotonic() < self.next_call_at:
            return
        try:
            if self.mode == "stream":
                self._stream()
            else:
                self._update()
        except RetryLater as wait:
            self.next_call_at = time.monotonic() + wait.seconds
        except PermanentSlackError as exc:
            self._refused(exc)
        else:
            self.next_call_at = time.monotonic() + self.interval_s

    def finish(self, stored_text: str | None) -> None:
        """Stop the stream: with the rest of the stored text when it continues what was streamed."""
        if not self.streaming:
            return
        rest = None
        if stored_text is not None and stored_text.startswith(self.shown):
            rest = stored_text[len(self.shown) :] or None
        self._stop(rest)

    def _stream(self) -> None:
        client = slack_client()
        target = self.target
        if not self.streaming:
            self._wait_for_channel()
            recipient = {}
            team_id = _team_id() if target.user_id is not None else None
            if team_id is not None:
                recipient = {"recipient_user_id": target.user_id, "recipient_team_id": team_id}
            # Marked first: from Slack's answer to the update that stores the message, a crash would
            # leave a message nobody knows of (the delivery looks for it: workers/slack/stream_orphans.py).
            mark_stream_requested(target.delivery_id)
            try:
                with slack_errors():
                    response = client.chat_startStream(
                        channel=target.channel,
                        thread_ts=target.thread_ts,
                        markdown_text=self.text,
                        **recipient,
                    )
            except RetryLater as failed:
                # A request lost in transit, or one Slack failed to answer, may have been carried out;
                # a rate limit means it was not.
                self.start_uncertain = self.start_uncertain or failed.is_failure
                raise
            except PermanentSlackError:
                # Refused: no message was made, so unless an earlier try may have made one, the
                # delivery has nothing to look for.
                if not self.start_uncertain:
                    clear_stream_request(target.delivery_id)
                raise
            self.message_ts, self.streaming, self.shown = str(response["ts"]), True, self.text
            log.info("slack delivery %d: streaming into %s", target.delivery_id, target.channel)
            self._become_the_placeholder()
            return
        assert self.message_ts is not None and self.text.startswith(self.shown)
        with slack_errors():
            client.chat_appendStream(
                channel=target.channel, ts=self.message_ts, markdown_text=self.text[len(self.shown) :]
            )
        self.shown = self.text

    def _update(self) -> None:
        client = slack_client()
        target = self.target
        text = self.text + MORE_TO_COME
        if self.message_ts is None:
            self.message_ts = target.placeholder_ts
        if self.message_ts is None:
            # Nothing to update (an assistant thread shows a status instead of a placeholder): post one.
            self._wait_for_channel()
            with slack_errors():
                response = client.chat_postMessage(
                    channel=target.channel, thread_ts=target.thread_ts, text=text
                )
            self.message_ts = str(response["ts"])
            self._become_the_placeholder()
        else:
            if not claim_preview_call("chat.update"):
                raise RetryLater(BUDGET_WAIT_S, "the minute's preview updates are spent", is_failure=False)
            with slack_errors():
                client.chat_update(channel=target.channel, ts=self.message_ts, text=text)
        self.shown, self.stale = self.text, False

    def _wait_for_channel(self) -> None:
        # A new message keeps the channel's pace, as every post does.
        wait = claim_channel_slot(self.target.channel)
        if wait > 0:
            raise RetryLater(wait, "the channel's pace", is_failure=False)

    def _refused(self, exc: PermanentSlackError) -> None:
        target = self.target
        if self.mode == "stream":
            log.info(
                "slack delivery %d: Slack refused streaming (%s); updates instead", target.delivery_id, exc
            )
            self.mode = "update"
            if self.streaming:  # an append refused: the stream has ended on Slack's side
                self.streaming, self.stale = False, True
            self.next_call_at = 0.0
            return
        log.warning("slack delivery %d: previews stop (%s); the answer comes whole", target.delivery_id, exc)
        self.mode = "none"

    def _restart(self) -> None:
        """The job runs again: its text so far is void."""
        self.text = ""
        if self.streaming:
            # What was streamed cannot be taken back; the message follows the new run by updates.
            self._stop(None)
            self.mode = "update"
        self.stale = self.message_ts is not None

    def _stop(self, markdown_text: str | None) -> None:
        assert self.message_ts is not None
        try:
            with slack_errors():
                slack_client().chat_stopStream(
                    channel=self.target.channel, ts=self.message_ts, markdown_text=markdown_text
                )
        except (RetryLater, PermanentSlackError) as exc:
            # The delivery's update replaces the message all the same.
            log.info("slack delivery %d: stream not stopped (%s)", self.target.delivery_id, exc)
        self.streaming = False
        if markdown_text is not None:
            self.shown += markdown_text

    def _become_the_placeholder(self) -> None:
        """The message showing the text is where the answer goes; the old placeholder is deleted after
        the new one is stored, so the thread never lacks one."""
        target = self.target
        stored: dict[str, object] = {"placeholder_ts": self.message_ts}
        if not self.start_uncertain:
            stored["stream_requested_at"] = None  # every message asked for is known
        with session_scope() as session:
            session.execute(
                update(SlackDelivery)
                .where(SlackDelivery.id == target.delivery_id, SlackDelivery.status == DeliveryStatus.PENDING)
                .values(**stored)
            )
        old = target.placeholder_ts
        if old is None or old == self.message_ts:
            return
        try:
            with slack_errors():
                slack_client().chat_delete(channel=target.channel, ts=old)
        except (RetryLater, PermanentSlackError) as exc:
            log.warning("slack delivery %d: the old placeholder stays (%s)", target.delivery_id, exc)
