"""Logging for command-line runs: rich output on a terminal, plain lines otherwise."""

import logging
import sys

from rich.logging import RichHandler


def configure_logging(level: int = logging.INFO) -> None:
    if sys.stderr.isatty():
        handler: logging.Handler = RichHandler(show_path=False, markup=False)
        fmt = "%(message)s"
    else:
        handler = logging.StreamHandler()
        fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    logging.basicConfig(level=level, format=fmt, handlers=[handler], force=True)
    # One line per HTTP request (health polls, measurements) drowns what matters.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING))
