"""Slack's Socket Mode end on loopback: a WebSocket server that says hello, sends envelopes the way
Slack does (events, slash commands) and collects the bot's acks."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from tests.support.waiting import OUTCOME_TIMEOUT_S, wait_for


class FakeSocketMode:
    def __init__(self, port: int) -> None:
        self.url = f"ws://127.0.0.1:{port}/link"
        self.acks: dict[str, dict[str, Any]] = {}
        self._outbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self._acks_lock = threading.Lock()
        self._server: Server = serve(self._session, "127.0.0.1", port, compression=None)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-socket-mode", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()

    def send(self, envelope_type: str, payload: dict[str, Any], *, retry_attempt: int | None = None) -> str:
        """Queue an envelope for the connected bot; returns its envelope id."""
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": envelope_type != "events_api",
        }
        if retry_attempt is not None:
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": "timeout"}
        self._outbox.put(envelope)
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout_s: float = OUTCOME_TIMEOUT_S) -> dict[str, Any]:
        def ack() -> dict[str, Any] | None:
            with self._acks_lock:
                return self.acks.get(envelope_id)

        return wait_for(
            ack, f"the ack of envelope {envelope_id}", until=lambda ack: ack is not None, timeout_s=timeout_s
        )

    def _session(self, connection: ServerConnection) -> None:
        connection.send(json.dumps({"type": "hello", "num_connections": 1, "debug_info": {}}))
        while True:
            try:
                envelope = self._outbox.get(timeout=0.05)
            except queue.Empty:
                envelope = None
            if envelope is not None:
                connection.send(json.dumps(envelope))
            try:
                message = connection.recv(timeout=0.01)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            ack = json.loads(message)
            with self._acks_lock:
                self.acks[ack["envelope_id"]] = ack
