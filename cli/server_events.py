"""Server-sent events read from a response's lines: how the command line follows
``GET /api/jobs/{id}/events`` (the client's wait for a job, the streaming benchmark)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ServerEvent:
    name: str  # the ``event:`` field ("job", "token"); "message" when the frame names none
    data: str
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


def server_events(lines: Iterable[str]) -> Iterator[ServerEvent]:
    """Each event once its frame ends (a blank line); comments (keep-alives) and empty frames are
    skipped. Multi-line data is joined with newlines, as the SSE standard says."""
    name, event_id, data = "message", None, []
    for line in lines:
        if not line:
            if data:
                yield ServerEvent(name, "\n".join(data), event_id)
            name, event_id, data = "message", None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
