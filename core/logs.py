"""Log records that name the job and Celery task they were written for, as text or JSON lines.

Every process (web, worker, beat, command line) formats its logs through this module. The job id
travels in a context variable that the job runner sets around a job, so a line written anywhere
below it (a service, the model registry, SQLAlchemy) carries the id without being passed it. With
the threads pool each task runs in its own thread, and so in its own context: concurrent jobs never
see each other's ids.

The ids are added by a log-record factory rather than a handler filter: a filter runs only for the
handlers it is attached to, while Celery, uvicorn and pytest each bring their own handlers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

# The project's plain format, with the job's id after the logger's name when there is one.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(job_tag)s: %(message)s"

_job_id: ContextVar[str | None] = ContextVar("queuebot_job_id", default=None)
_task_id: ContextVar[str | None] = ContextVar("queuebot_task_id", default=None)
_installed = False


@contextmanager
def job_context(job_id: str) -> Iterator[None]:
    """Records written inside the block carry ``job_id``.

    Whoever sets the id also makes records read it, so no process depends on having configured its
    logging through this module for job ids to appear (a test's embedded worker, a script)."""
    install_record_factory()
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


def set_task_id(task_id: str | None) -> object:
    """For Celery's prerun/postrun signals, which cannot wrap the task in a ``with`` block."""
    install_record_factory()
    return _task_id.set(task_id)


def reset_task_id(token: object) -> None:
    _task_id.reset(token)  # type: ignore[arg-type]


def install_record_factory() -> None:
    """Give every record ``job_id``, ``task_id`` and ``job_tag`` (idempotent; wraps the factory in
    force, so another library's additions survive)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        job_id = _job_id.get()
        record.job_id = job_id
        record.task_id = _task_id.get()
        record.job_tag = f" [job {job_id}]" if job_id else ""
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors that index fields (Loki, Elasticsearch, Cloud Logging)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.processName,
            "thread": record.threadName,
        }
        for key in ("job_id", "task_id"):
            value = getattr(record, key, None)
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


# For records built without the factory (logging.LogRecord(...) called directly, as some libraries
# do): a format that names these must not fail on them.
JOB_FIELD_DEFAULTS: dict[str, Any] = {"job_id": None, "task_id": None, "job_tag": ""}


def formatter_for(log_format: LogFormat, text_format: str = TEXT_FORMAT) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter()
    return logging.Formatter(text_format, defaults=JOB_FIELD_DEFAULTS)


def use_format(
    handlers: Iterable[logging.Handler], log_format: LogFormat, text_format: str = TEXT_FORMAT
) -> None:
    install_record_factory()
    for handler in handlers:
        handler.setFormatter(formatter_for(log_format, text_format))
