"""Logging for command-line runs: rich output on a terminal, plain lines otherwise, JSON lines when
QUEUEBOT_LOG_FORMAT=json (core/logs.py)."""

import logging
import sys

from rich.logging import RichHandler

from core.logs import TEXT_FORMAT, LogFormat, install_record_factory, use_format


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    install_record_factory()
    if log_format == "text" and sys.stderr.isatty():
        handler: logging.Handler = RichHandler(show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s%(job_tag)s"))
    else:
        handler = logging.StreamHandler()
        use_format([handler], log_format, TEXT_FORMAT)
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # One line per HTTP request (health polls, measurements) drowns what matters.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
