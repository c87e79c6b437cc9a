"""The embedded product on one machine: Redis, database migrations, models, a worker, Celery beat and
the web app.

Children run in their own process sessions so that Ctrl-C reaches only this supervisor, which then
stops them in order: web first (no new jobs), then the worker (it finishes the job in hand), then
Redis.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
from sqlalchemy.engine import make_url

from cli.redis_server import RedisServer, free_port
from core.jobs import Queue
from core.settings import Settings

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
# A child that exits more often than this within the window is in a crash loop: the stack stops.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 600.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    args: list[str]
    log_file: Path
    env: dict[str, str]
    restarted_at: list[float] = field(default_factory=list)
    one_shot: bool = False  # a job that ends (the model build behind the product), not a service

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

    def restart_if_allowed(self) -> bool:
        """Start the exited process again, unless it has exited too often lately (a crash loop is
        reported, not hidden)."""
        now = time.monotonic()
        self.restarted_at = [at for at in self.restarted_at if now - at < RESTART_WINDOW_S]
        if len(self.restarted_at) >= MAX_RESTARTS:
            return False
        self.restarted_at.append(now)
        self.process = _spawn(self.args, self.log_file, self.env)
        return True


class _Stop(Exception):
    pass


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives a child process exactly these settings (they may differ from os.environ)."""
    env = os.environ.copy()
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        raw = value.get_secret_value() if hasattr(value, "get_secret_value") else value
        if isinstance(raw, bool):
            text = str(raw).lower()
        elif isinstance(raw, dict | list):
            text = json.dumps(raw)  # pydantic-settings reads complex fields as JSON
        else:
            text = str(raw)
        env[f"QUEUEBOT_{name.upper()}"] = text
    return env


def private_settings(settings: Settings, scratch: Path) -> Settings:
    """``settings`` for a stack of its own (a benchmark's): its files in ``scratch``, a SQLite database
    there, Redis and the web app on free ports, so that a running ``queuebot up`` is not disturbed;
    no rate limit, because the benchmark's own clients are the load being measured."""
    return settings.model_copy(
        update={
            "var_dir": scratch,
            "database_url": "",
            "redis_url": f"redis://127.0.0.1:{free_port()}/0",
            "web_port": free_port(),
            "web_host": "127.0.0.1",
            "api_rate_limit": 0,
        }
    )


def _start(name: str, args: list[str], log_file: Path, env: dict[str, str]) -> Child:
    log.info("starting %s (log: %s)", name, log_file)
    return Child(name, _spawn(args, log_file, env), args, log_file, env)


def _spawn(
    args: list[str], log_file: Path, env: dict[str, str], lowest_priority: bool = False
) -> subprocess.Popen[bytes]:
    with log_file.open("ab") as output:
        return subprocess.Popen(
            args,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            # niceness 19: the product's own processes get the CPU first, training takes what is left
            preexec_fn=(lambda: os.nice(19)) if lowest_priority else None,  # noqa: PLW1509
        )


class EmbeddedStack:
    """Redis, a migrated database, workers and the web app as child processes; stops in reverse order.

    ``queuebot up`` supervises one; ``queuebot benchmark`` starts a private one on free ports.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.log_dir = settings.var_dir / "log"
        self.env = settings_env(settings)
        self.children: list[Child] = []
        self.redis: RedisServer | None = None
        self.base_url = f"http://{settings.web_host}:{settings.web_port}"

    def start_storage(self) -> None:
        from db.migrate import upgrade_to_head

        self.log_dir.mkdir(parents=True, exist_ok=True)
        port = urlparse(self.settings.redis_url).port or 6379
        self.redis = RedisServer(
            port, data_dir=self.settings.var_dir / "redis", log_file=self.log_dir / "redis.log"
        )
        self.redis.start()
        upgrade_to_head(self.settings.sqlalchemy_url)
        # Without the password: a PostgreSQL URL carries it.
        shown = make_url(self.settings.sqlalchemy_url).render_as_string(hide_password=True)
        log.info("database ready: %s", shown)

    def import_demo_knowledge(self) -> None:
        """The demo's approved answers into an empty knowledge base (``queuebot kb demo``), in a
        child process with the stack's environment, so a private stack fills its own database."""
        args = [sys.executable, "-m", "cli.main", "kb", "demo"]
        log_file = self.log_dir / "knowledge.log"
        log.info("importing the demo knowledge base if empty (log: %s)", log_file)
        with log_file.open("ab") as output:
            subprocess.run(args, stdout=output, stderr=subprocess.STDOUT, env=self.env, check=True)

    def start_worker(
        self,
        name: str = "worker",
        queues: Iterable[str] | None = None,
        pool: str | None = None,
        concurrency: int | None = None,
    ) -> Child:
        queue_list = ",".join(queues or (queue.value for queue in Queue))
        args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "-Q", queue_list,
                "--loglevel", "INFO", "--hostname", f"{name}@%h"]  # fmt: skip
        if pool is not None:
            args += ["--pool", pool]
        if concurrency is not None:
            args += ["--concurrency", str(concurrency)]
        child = _start(name, args, self.log_dir / f"{name}.log", self.env)
        self.children.append(child)
        return child

    def start_beat(self) -> Child:
        """Celery beat: sends the periodic tasks (reports). Exactly one per deployment, or each
        tick is sent twice (harmless, reports are unique per period, but wasted work)."""
        schedule = self.settings.var_dir / "celerybeat-schedule"
        args = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                "--loglevel", "INFO", "--schedule", str(schedule)]  # fmt: skip
        child = _start("beat", args, self.log_dir / "beat.log", self.env)
        self.children.append(child)
        return child

    def start_web(self) -> Child:
        args = [sys.executable, "-m", "uvicorn", "bots.web.app:create_app", "--factory",
                "--host", self.settings.web_host, "--port", str(self.settings.web_port)]  # fmt: skip
        child = _start("web", args, self.log_dir / "web.log", self.env)
        self.children.append(child)
        _wait_for_web(self.base_url, child)
        return child

    def start_slack_socket_mode(self) -> Child:
        args = [sys.executable, "-m", "cli.main", "slack"]
        child = _start("slack", args, self.log_dir / "slack.log", self.env)
        self.children.append(child)
        return child

    def start_model_build(self, profile: str) -> Child:
        """Build ``profile``'s models behind the serving product, at the lowest CPU priority; each new
        model serves only if it beats the served one on validation (``build-models --if-better``)."""
        args = [sys.executable, "-m", "cli.main", "build-models", "--profile", profile,
                "--if-better", "--publish-status"]  # fmt: skip
        log_file = self.log_dir / "model-build.log"
        log.info("building the %s models behind the product (log: %s)", profile, log_file)
        child = Child("model-build", _spawn(args, log_file, self.env, lowest_priority=True), args, log_file,
                      self.env, one_shot=True)  # fmt: skip
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        return next((child for child in self.children if child.process.poll() is not None), None)

    def stop(self) -> None:
        # Web first (no new jobs), then workers (they finish the job in hand), then Redis.
        for child in sorted(self.children, key=lambda c: c.name != "web"):
            child.stop()
        self.children.clear()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None


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


def _banner(settings: Settings, base_url: str, training: str | None) -> str:
    # The token itself is never written to the logs: the banner names where it comes from.
    behind = (
        f"""
Answering with starter models; the {training} models train behind them at the lowest CPU priority
and replace each one that they beat on validation (web page: Models; `queuebot models list`;
log: {settings.var_dir / "log" / "model-build.log"}).
"""
        if training
        else ""
    )
    return f"""
queuebot is running.{behind}
  Web page: {base_url}/   (sign in with the API token, QUEUEBOT_API_TOKEN)
  API docs: {base_url}/docs
Logs: {settings.var_dir / "log"}   Stop: Ctrl-C

Try it (TOKEN=<your QUEUEBOT_API_TOKEN>; dev-token-change-me unless .env sets one):
  curl -s -X POST {base_url}/api/chat -H "Authorization: Bearer $TOKEN" \\
       -H 'Content-Type: application/json' -d '{{"message": "I want to cancel my order"}}'
  curl -s {base_url}/api/jobs/<job id from the answer> -H "Authorization: Bearer $TOKEN"
"""


def run_embedded(settings: Settings) -> int:
    """Bring the whole product up and supervise it until Ctrl-C; returns the exit code."""
    from cli.build_status import redis_publisher
    from training.build import PROFILES, build_models

    stack = EmbeddedStack(settings)
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Answer first with the quick-to-build profile, if it is below the one asked for.
    first = settings.first_answer_profile
    staged = PROFILES.index(first) < PROFILES.index(settings.model_profile)
    try:
        stack.start_storage()
        build_models(
            settings.models_dir,
            settings.data_dir,
            first if staged else settings.model_profile,
            settings.device,
            on_event=redis_publisher(settings.redis_url),
        )
        # After the build, not beside it: embedding the demo answers is as CPU-bound as training, so
        # on two cores the two only slow each other (tried: the first answer came no sooner).
        stack.import_demo_knowledge()
        stack.start_worker()
        stack.start_beat()
        stack.start_web()
        if settings.slack_enabled and settings.slack_app_token is not None:
            stack.start_slack_socket_mode()
        if staged:
            stack.start_model_build(settings.model_profile)
        log.info(_banner(settings, stack.base_url, settings.model_profile if staged else None))
        while True:
            while (exited := stack.exited()) is None:
                time.sleep(0.5)
            code = exited.process.returncode
            if exited.one_shot:
                stack.children.remove(exited)
                if code == 0:
                    log.info("%s finished: `queuebot models list` shows what serves", exited.name)
                else:
                    # The product goes on with the models it serves; the failure is shown, not hidden.
                    log.error("%s failed with code %s (log: %s)", exited.name, code, exited.log_file)
                continue
            # Workers and beat are restarted, as compose's restart policy does: a worker that dies
            # (the broker went away under it, the OOM killer) loses nothing, since the sweeper sends
            # its jobs again. The web server exiting means the product is down: stop and say so.
            if exited.name == "web" or not exited.restart_if_allowed():
                log.error("%s exited with code %s; stopping", exited.name, code)
                return 1
            log.warning("%s exited with code %s; restarted it", exited.name, code)
    except _Stop as stop:
        log.info("%s received; shutting down", stop)
        return 0
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave a worker or Redis behind; each
        # child gets STOP_TIMEOUT_S and is then killed, so this ends on its own.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
