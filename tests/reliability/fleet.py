"""A private product stack in real processes, for scenarios that kill parts of it: its own Redis, the
web app under uvicorn, Celery workers and Celery beat (which sends the sweep every second), each a
subprocess that a test can SIGKILL or restart. The session's database, models and fake Slack are
shared; the session's in-process worker listens on the other Redis, so it never takes this stack's
work.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cli.redis_server import RedisServer, free_port
from core.jobs import Queue
from tests.support.stack_fixtures import celery_beat_command
from tests.support.waiting import wait_for_while_running, wait_until_serving

log = logging.getLogger(__name__)

# Recovery on a test's time scale: sweeps every second, a message missing for 3 s is sent again, and
# a worker process that has not beaten for 3 s is dead. Production defaults are 30 s, 60 s and 30 s.
RECOVERY_ENV = {
    "QUEUEBOT_SWEEP_INTERVAL_S": "1",
    "QUEUEBOT_SWEEP_GRACE_S": "3",
    "QUEUEBOT_WORKER_HEARTBEAT_S": "1",
    # Scenarios count posts per thread; Slack's per-channel pace would only slow them down.
    "QUEUEBOT_SLACK_CHANNEL_INTERVAL_S": "0",
    # A burst of a thousand jobs is the point here, not the queue bounds (tests/reliability/
    # test_backpressure.py has those).
    "QUEUEBOT_MAX_QUEUED_REPLY": "0",
    "QUEUEBOT_MAX_QUEUED_SENTIMENT": "0",
    "QUEUEBOT_MAX_QUEUED_GENERATE": "0",
    "QUEUEBOT_REPORT_CHECK_S": "3600",
    "QUEUEBOT_LOG_FORMAT": "text",
}


class Fleet:
    """Start it with :func:`running_fleet`."""

    def __init__(self, logs_dir: Path, models_dir: Path) -> None:
        self.logs_dir = logs_dir
        self.redis = RedisServer(free_port(), log_file=logs_dir / "redis.log")
        self.env = {
            **os.environ,
            **RECOVERY_ENV,
            "QUEUEBOT_REDIS_URL": self.redis.url,
            "QUEUEBOT_MODELS_DIR": str(models_dir),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.commands: dict[str, list[str]] = {}
        # Workers and beat that exited on their own and were started again, as a deployment's
        # supervisor does (compose's restart policy, `queuebot up`).
        self.restarts: Counter[str] = Counter()
        self.web_url = ""
        self._lock = threading.Lock()
        self._supervising = threading.Event()

    # --- processes --------------------------------------------------------------------------------

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """A production worker (task threads) on every queue; returns once it consumes."""
        queues = ",".join(queue.value for queue in Queue)
        args = ["worker", "--loglevel", "INFO", "-n", f"{name}@%h", "-Q", queues, "--without-mingle"]
        process = self._start(name, [sys.executable, "-m", "celery", "-A", "workers.celery_app", *args])
        self._wait_for_line(name, " ready.")
        return process

    def start_beat(self) -> None:
        self._start("beat", celery_beat_command(self.logs_dir / "beat-schedule"))

    def start_web(self) -> str:
        port = free_port()
        process = self._start(
            "web",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bots.web.app:create_app",
                "--factory",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],  # fmt: skip
        )
        self.web_url = f"http://127.0.0.1:{port}"
        wait_until_serving(
            self.web_url, process, "web started: the web app", log=lambda: self.log_text("web")[-4000:]
        )
        return self.web_url

    def stop_redis(self) -> None:
        self.redis.stop()

    def start_redis(self) -> None:
        """Redis again on the same port, empty: it keeps nothing on disk, as if its data were lost."""
        self.redis.start()

    def supervise(self) -> None:
        self._supervising.set()
        threading.Thread(target=self._restart_exited, name="fleet-supervisor", daemon=True).start()

    def kill(self, name: str) -> None:
        """SIGKILL, to the whole process group: nothing gets to clean up or acknowledge."""
        with self._lock:
            process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        log.info("killed %s (pid %d)", name, process.pid)

    def stop(self) -> None:
        self._supervising.clear()
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop; killing it", name)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
        self.redis.stop()

    def log_text(self, name: str) -> str:
        return (self.logs_dir / f"{name}.log").read_text(errors="replace")

    # --- internals --------------------------------------------------------------------------------

    def _start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        output = (self.logs_dir / f"{name}.log").open("ab")
        # A session of its own, so a SIGKILL reaches the process and every child it has.
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        output.close()
        with self._lock:
            self.processes[name] = process
            self.commands[name] = command
        return process

    def _restart_exited(self) -> None:
        while self._supervising.is_set():
            time.sleep(0.5)
            with self._lock:
                exited = [
                    name
                    for name, process in self.processes.items()
                    if name != "web" and process.poll() is not None
                ]
            for name in exited:
                if not self._supervising.is_set():
                    return
                log.warning("%s exited with code %s; restarting it", name, self.processes[name].returncode)
                self.restarts[name] += 1
                self._start(name, self.commands[name])

    def _wait_for_line(self, name: str, text: str) -> None:
        self._wait_while_running(name, lambda: text in self.log_text(name), f"{text!r} in {name}'s log")

    def _wait_while_running(self, name: str, probe: Callable[[], bool], what: str) -> None:
        wait_for_while_running(
            probe,
            f"{name} started: {what}",
            running=lambda: self.processes[name].poll() is None,
            log=lambda: self.log_text(name)[-4000:],
        )


@contextmanager
def running_fleet(logs_dir: Path, models_dir: Path) -> Iterator[Fleet]:
    """Redis, the web app and beat running; workers are the test's to start (and kill)."""
    fleet = Fleet(logs_dir, models_dir)
    fleet.redis.start()
    try:
        fleet.start_web()
        fleet.start_beat()
        fleet.supervise()
        yield fleet
    finally:
        fleet.stop()
