"""What a request names does not exist: every such error is a NotFound, and the web app answers each
with 404 and its message from one handler (bots/web/app.py), so routes need no try/except for it."""

from typing import TypeVar

Row = TypeVar("Row")


class NotFound(LookupError):
    pass


def found(row: Row | None, what: str) -> Row:
    """``row``, or a NotFound saying that ``what`` (such as ``"job 12"``) does not exist."""
    if row is None:
        raise NotFound(f"{what} does not exist")
    return row
