"""The command line's reader of server-sent events, on frames as the REST API writes them."""

from __future__ import annotations

from cli.server_events import ServerEvent, server_events


def test_frames_become_events_and_keep_alives_and_unfinished_frames_do_not() -> None:
    lines = [
        "event: job",
        'data: {"status": "running"}',
        "",
        ": keep-alive",
        "",
        "event: token",
        "id: 1-0",
        'data: {"choice": 0, "text": " Hello"}',
        "",
        "data: first line",
        "data: second line",
        "",
        "event: job",
        'data: {"status": "done"}',  # the stream ended before the frame's blank line
    ]
    events = list(server_events(lines))
    assert events == [
        ServerEvent("job", '{"status": "running"}'),
        ServerEvent("token", '{"choice": 0, "text": " Hello"}', "1-0"),
        ServerEvent("message", "first line\nsecond line"),
    ]
    assert events[1].json() == {"choice": 0, "text": " Hello"}
