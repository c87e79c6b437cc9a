"""Waiting in tests, after Celery's ``celery.contrib.testing``: wait for an outcome, or make sure
something does not happen for a while.

A test waits on the outcome it asserts, never on a guess of how fast the machine is: the bound is
generous (a slow or loaded machine only makes the test slower, never failing), and a passing test
returns as soon as the outcome is there.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

T = TypeVar("T")

# How long an outcome may take before a test fails: far above what any of them needs on a loaded
# one-core run, so that only a real fault reaches it.
OUTCOME_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.1


def wait_for(
    probe: Callable[[], T],
    what: str,
    *,
    until: Callable[[T], bool] = bool,
    timeout_s: float = OUTCOME_TIMEOUT_S,
    interval_s: float = POLL_INTERVAL_S,
) -> T:
    """Call ``probe`` until ``until`` holds for what it returns, and return that; fail naming
    ``what`` and the last value seen when it has not held after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s:.0f} s; last seen {value!r}")
        time.sleep(interval_s)


def ensure_not_for_a_while(
    probe: Callable[[], T],
    what: str,
    *,
    happened: Callable[[T], bool] = bool,
    for_s: float = 3.0,
    interval_s: float = POLL_INTERVAL_S,
) -> None:
    """Fail as soon as ``happened`` holds for what ``probe`` returns, watching for ``for_s``."""
    deadline = time.monotonic() + for_s
    while time.monotonic() < deadline:
        value = probe()
        if happened(value):
            raise AssertionError(f"{what} happened: {value!r}")
        time.sleep(interval_s)


def wait_for_while_running(
    probe: Callable[[], T],
    what: str,
    *,
    running: Callable[[], bool],
    log: Callable[[], str] | None = None,
    until: Callable[[T], bool] = bool,
) -> T:
    """``wait_for`` on a server or worker of the test's own (a thread or a process): a server's start,
    a line in its log. Waiting out the bound for one that has exited would only delay the failure,
    so this fails as soon as ``running`` says it has; and why it did not get there is in its log, not
    in the probe's last value, so either failure ends with ``log``."""

    def probe_while_running() -> T:
        if not running():
            raise AssertionError(f"{what}: it exited first")
        return probe()

    try:
        return wait_for(probe_while_running, what, until=until)
    except AssertionError as error:
        if log is None:
            raise
        raise AssertionError(f"{error}\n{log()}") from None


def wait_until_serving(
    base_url: str,
    server: subprocess.Popen[Any] | threading.Thread,
    what: str,
    *,
    log: Callable[[], str] | None = None,
) -> None:
    """Wait until the web app at ``base_url`` answers ``GET /healthz`` with 200: a server of the test's
    own, in a process or in a thread of this one. If it exits first this fails at once, with the
    process's exit status and ``log`` (its output)."""

    def health() -> int | str:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=5).status_code
        except httpx.TransportError as error:
            return repr(error)

    def healthy(status: int | str) -> bool:
        return status == 200

    what = f"{what} answering GET {base_url}/healthz"
    if isinstance(server, threading.Thread):
        wait_for_while_running(health, what, running=server.is_alive, log=log, until=healthy)
        return
    process = server

    def exit_status_and_output() -> str:
        status = "still running" if process.returncode is None else f"exit status {process.returncode}"
        return status if log is None else f"{status}; its output:\n{log()}"

    wait_for_while_running(
        health,
        what,
        running=lambda: process.poll() is None,
        log=exit_status_and_output,
        until=healthy,
    )
