"""A local stand-in for Slack's Web API (and response URLs) on loopback, for tests.

It answers the methods the bot and the workers call the way Slack does, records every call, and can
be told to fail the next calls of a method (rate limits, errors) to test retries, or to fail them
after doing what they asked (an answer lost on its way back). conversations.replies lists the bot's
messages still in a thread. Streamed messages
(chat.startStream, chat.appendStream, chat.stopStream) keep their chunks in order, as Slack shows
them; a channel can be told to refuse streaming, as a workspace without it does.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support import waiting

BOT_USER_ID = "UQUEUEBOT"
BOT_ID = "BQUEUEBOT"
TEAM_ID = "TQUEUEBOT"
WORKSPACE_URL = "https://queuebot-test.slack.com/"


_last_ts_us = 0
_ts_lock = threading.Lock()


def new_ts() -> str:
    """A message ts as Slack makes them: seconds with microseconds, unique (a thread is named by its
    first message's ts, so two messages made in the same microsecond would share a thread)."""
    global _last_ts_us
    with _ts_lock:
        _last_ts_us = max(_last_ts_us + 1, int(time.time() * 1_000_000))
        return f"{_last_ts_us // 1_000_000}.{_last_ts_us % 1_000_000:06d}"


@dataclass(frozen=True)
class SlackCall:
    method: str  # "chat.postMessage", or "response:<name>" for a response URL
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    answer: dict[str, Any] = field(default_factory=dict)  # what the fake replied


STREAM_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream")


@dataclass
class FakeStream:
    """A streamed message: where it is and the text of each call that added to it, in order."""

    channel: str
    thread_ts: str | None
    ts: str
    chunks: list[str] = field(default_factory=list)
    stopped: bool = False
    recipient: tuple[str | None, str | None] = (None, None)  # (team, user)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


@dataclass
class _Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    channel: str | None  # fail only calls for this channel
    carried_out: bool  # done all the same, as when an answer is lost on its way back


class FakeSlack:
    def __init__(self, port: int) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/api/"
        self.calls: list[SlackCall] = []
        # Where apps.connections.open sends a Socket Mode client (tests/support/slack_socket_fake.py).
        self.socket_mode_url = ""
        self._failures: dict[str, deque[_Failure]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._file_ids = itertools.count(1)
        # file id -> the bytes uploaded to the URL files.getUploadURLExternal gave for it.
        self.uploads: dict[str, bytes] = {}
        # ts -> the streamed message, and the channels that refuse streaming (-> the error they give).
        self.streams: dict[str, FakeStream] = {}
        self._streaming_refused: dict[str, str] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def fail_next(
        self,
        method: str,
        status: int,
        error: str,
        *,
        channel: str | None = None,
        retry_after: int | None = None,
        carried_out: bool = False,
    ) -> None:
        """Answer the next call of ``method`` (for ``channel``, if given) with this error; with
        ``carried_out``, after doing what it asked (a message posted, a stream started) all the same."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        failure = _Failure(status, {"ok": False, "error": error}, headers, channel, carried_out)
        with self._lock:
            self._failures[method].append(failure)

    def refuse_streaming(self, channel: str, error: str = "method_not_supported") -> None:
        """From now on, the chat.*Stream methods in ``channel`` fail with ``error``."""
        with self._lock:
            self._streaming_refused[channel] = error

    def streams_in(self, channel: str) -> list[FakeStream]:
        """The channel's streamed messages, in the order they were started."""
        with self._lock:
            return [stream for stream in self.streams.values() if stream.channel == channel]

    def answers_in(self, channel: str) -> list[SlackCall]:
        """The chat.update calls that put an answer in ``channel``: previews of an answer being written
        carry text only, answers carry their blocks."""
        return [call for call in self.calls_to("chat.update", channel=channel) if call.params.get("blocks")]

    def visible_messages(self, channel: str) -> dict[str | None, list[str]]:
        """The bot's messages in ``channel`` that are still there (posted or streamed, and not deleted),
        by the thread they are in (None: the channel itself), in the order they appeared."""
        with self._lock:
            calls = [call for call in self.calls if call.params.get("channel") == channel]
        return _visible(calls)

    def calls_to(self, method: str, **matching: Any) -> list[SlackCall]:
        with self._lock:
            return _matching(self.calls, method, matching)

    def wait_for(
        self, method: str, count: int = 1, timeout_s: float = waiting.OUTCOME_TIMEOUT_S, **matching: Any
    ) -> list[SlackCall]:
        """Wait until at least ``count`` calls of ``method`` with these params arrived; returns them."""
        # Every call of the method, not only the matching ones, is what a failure shows: a call with
        # one param off is the usual reason none matched.
        calls = waiting.wait_for(
            lambda: self.calls_to(method),
            f"{count} call(s) to {method} {matching}",
            until=lambda calls: len(_matching(calls, method, matching)) >= count,
            timeout_s=timeout_s,
            interval_s=0.02,
        )
        return _matching(calls, method, matching)

    def posted_ts(self, call: SlackCall) -> str:
        """The ts Slack gave the message a chat.postMessage call created."""
        return str(call.answer["ts"])

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            failure = next(
                (f for f in self._failures[method] if f.channel in (None, params.get("channel"))), None
            )
            if failure is not None:
                self._failures[method].remove(failure)
                if failure.carried_out:
                    self._carry_out(method, params)
                else:
                    self.calls.append(SlackCall(method, params, time.monotonic(), failure.body))
                return failure.status, failure.body, failure.headers
            return self._carry_out(method, params)

    def _carry_out(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Do what the call asks and record it, with Slack's answer (under the lock)."""
        ts = new_ts()
        if method in STREAM_METHODS:
            answer = self._stream(method, params, ts)
            self.calls.append(SlackCall(method, params, time.monotonic(), answer))
            return 200, answer, {}
        answers: dict[str, dict[str, Any]] = {
            "auth.test": {
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "team_id": TEAM_ID,
                "user": "queuebot",
            },
            "chat.postMessage": {"channel": params.get("channel"), "ts": ts},
            "chat.update": {"channel": params.get("channel"), "ts": params.get("ts")},
            "chat.postEphemeral": {"message_ts": ts},
            "chat.getPermalink": {
                "channel": params.get("channel"),
                "permalink": permalink(str(params.get("channel")), str(params.get("message_ts"))),
            },
            "apps.connections.open": {"url": self.socket_mode_url},
            "files.completeUploadExternal": {
                "files": [{"id": f["id"], "title": f.get("title")} for f in _files(params)]
            },
        }
        if method == "conversations.replies":
            answers[method] = {"messages": self._thread_messages(params), "has_more": False}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._file_ids):08d}"
            answers[method] = {
                "file_id": file_id,
                "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}",
            }
        answer = {"ok": True, **answers.get(method, {})}
        self.calls.append(SlackCall(method, params, time.monotonic(), answer))
        return 200, answer, {}

    def _thread_messages(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """conversations.replies: the thread's first message (someone else's here), then the bot's
        replies still there from ``oldest`` on, oldest first (under the lock)."""
        channel, thread_ts = params.get("channel"), str(params.get("ts"))
        oldest = float(params.get("oldest") or 0)
        calls = [call for call in self.calls if call.params.get("channel") == channel]
        replies = [
            {"type": "message", "ts": ts, "thread_ts": thread_ts, "user": BOT_USER_ID, "bot_id": BOT_ID}
            for ts in _visible(calls).get(thread_ts, [])
            if float(ts) >= oldest
        ]
        return [{"type": "message", "ts": thread_ts, "thread_ts": thread_ts, "user": "UALICE"}, *replies]

    def _stream(self, method: str, params: dict[str, Any], ts: str) -> dict[str, Any]:
        """chat.startStream, chat.appendStream and chat.stopStream, as Slack answers them (under the lock)."""
        channel = str(params.get("channel"))
        if channel in self._streaming_refused:
            return {"ok": False, "error": self._streaming_refused[channel]}
        if method == "chat.startStream":
            stream = FakeStream(
                channel,
                params.get("thread_ts"),
                ts,
                recipient=(params.get("recipient_team_id"), params.get("recipient_user_id")),
            )
            self.streams[ts] = stream
        else:
            stream = self.streams.get(str(params.get("ts")))
            if stream is None or stream.channel != channel:
                return {"ok": False, "error": "message_not_found"}
            if stream.stopped:
                return {"ok": False, "error": "message_not_in_streaming_state"}
        text = _streamed_text(params)
        if text:
            stream.chunks.append(text)
        if method == "chat.stopStream":
            stream.stopped = True
        return {"ok": True, "channel": channel, "ts": stream.ts}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/upload/"):
                    # The second step of files_upload_v2: the file's bytes, to the URL step one gave.
                    with fake._lock:
                        fake.uploads[self.path.removeprefix("/upload/")] = raw
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                body = raw.decode()
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(body or "{}")
                else:
                    params = dict(parse_qsl(body))
                self._reply(self.path, params)

            def do_GET(self) -> None:  # noqa: N802
                # slack_sdk sends a few read methods (chat.getPermalink) as GET with a query string.
                url = urlsplit(self.path)
                self._reply(url.path, dict(parse_qsl(url.query)))

            def _reply(self, path: str, params: dict[str, Any]) -> None:
                if path.startswith("/api/"):
                    method = path.removeprefix("/api/")
                elif path.startswith("/response/"):
                    method = "response:" + path.removeprefix("/response/")
                else:
                    self.send_error(404)
                    return
                status, answer, headers = fake._answer(method, params)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return None

        return Handler


def _visible(calls: list[SlackCall]) -> dict[str | None, list[str]]:
    """The messages these calls posted or streamed and did not delete, by thread, in order."""
    deleted = {call.params.get("ts") for call in calls if call.method == "chat.delete"}
    shown: dict[str | None, list[str]] = defaultdict(list)
    for call in calls:
        if call.method in ("chat.postMessage", "chat.startStream") and call.answer.get("ok"):
            ts = str(call.answer["ts"])
            if ts not in deleted:
                shown[call.params.get("thread_ts")].append(ts)
    return dict(shown)


def _matching(calls: list[SlackCall], method: str, matching: dict[str, Any]) -> list[SlackCall]:
    return [
        call
        for call in calls
        if call.method == method and all(call.params.get(k) == v for k, v in matching.items())
    ]


def _streamed_text(params: dict[str, Any]) -> str:
    """The text a streaming call adds: its markdown_text, then its markdown_text chunks."""
    chunks = params.get("chunks") or []
    if isinstance(chunks, str):
        chunks = json.loads(chunks)
    texts = [str(params.get("markdown_text") or "")]
    texts += [str(chunk.get("text", "")) for chunk in chunks if chunk.get("type") == "markdown_text"]
    return "".join(texts)


def _files(params: dict[str, Any]) -> list[dict[str, Any]]:
    """files.completeUploadExternal's ``files``: a JSON list in a form field, or a list in JSON."""
    files = params.get("files", "[]")
    return json.loads(files) if isinstance(files, str) else list(files)


def permalink(channel: str, message_ts: str) -> str:
    """The link Slack gives a message: the workspace, the channel, and the ts without its dot."""
    return f"{WORKSPACE_URL}archives/{channel}/p{message_ts.replace('.', '')}"
