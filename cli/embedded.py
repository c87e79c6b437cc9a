"""The embedded product on one machine: Redis, database migrations, models, a worker and the web app.

Children run in their own process sessions so that Ctrl-C reaches only this supervisor, which then
stops them in order: web first (no new jobs), then the worker (it finishes the job in hand), then
Redis.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx

from cli.redis_server import RedisServer
from core.jobs import Queue
from core.settings import Settings

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        log.info("stopping %s", self.name)
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, STOP_TIMEOUT_S)
            self.process.kill()
            self.process.wait()


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def _start(name: str, args: list[str], log_file: Path) -> Child:
    log.info("starting %s (log: %s)", name, log_file)
    with log_file.open("ab") as output:
        process = subprocess.Popen(
            args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True, env=os.environ.copy()
        )
    return Child(name, process)


def _wait_for_web(base_url: str, web: Child) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while time.monotonic() < deadline:
        if web.process.poll() is not None:
            raise RuntimeError(f"the web server exited with code {web.process.returncode}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the web server did not answer at {base_url} within {HEALTH_TIMEOUT_S:.0f} s")


def _banner(settings: Settings, base_url: str) -> str:
    token = settings.api_token.get_secret_value()
    return f"""
queuebot is running: {base_url}   (API docs: {base_url}/docs)
Logs: {settings.var_dir / "log"}   Stop: Ctrl-C

Try it:
  curl -s -X POST {base_url}/api/chat -H 'Authorization: Bearer {token}' \\
       -H 'Content-Type: application/json' -d '{{"message": "I want to cancel my order"}}'
  curl -s {base_url}/api/jobs/<job id from the answer> -H 'Authorization: Bearer {token}'
"""


def run_embedded(settings: Settings) -> int:
    """Bring the whole product up and supervise it until Ctrl-C; returns the exit code."""
    from db.migrate import upgrade_to_head
    from workers.training.build import build_models

    log_dir = settings.var_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    redis_port = urlparse(settings.redis_url).port or 6379
    redis_server = RedisServer(
        redis_port, data_dir=settings.var_dir / "redis", log_file=log_dir / "redis.log"
    )
    children: list[Child] = []
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        redis_server.start()
        upgrade_to_head(settings.sqlalchemy_url)
        log.info("database ready: %s", settings.sqlalchemy_url)
        build_models(settings.models_dir, settings.data_dir, settings.model_profile, settings.device)

        queues = ",".join(queue.value for queue in Queue)
        children.append(
            _start(
                "worker",
                [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", queues,
                 "--loglevel", "INFO", "--hostname", "queuebot@%h"],
                log_dir / "worker.log",
            )
        )  # fmt: skip
        children.append(
            _start(
                "web",
                [sys.executable, "-m", "uvicorn", "bots.web.app:create_app", "--factory",
                 "--host", settings.web_host, "--port", str(settings.web_port)],
                log_dir / "web.log",
            )
        )  # fmt: skip
        base_url = f"http://{settings.web_host}:{settings.web_port}"
        _wait_for_web(base_url, children[-1])
        log.info(_banner(settings, base_url))
        while True:
            for child in children:
                if child.process.poll() is not None:
                    log.error("%s exited with code %s; stopping", child.name, child.process.returncode)
                    return 1
            time.sleep(0.5)
    except _Stop as stop:
        log.info("%s received; shutting down", stop)
        return 0
    finally:
        for child in reversed(children):
            child.stop()
        redis_server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
