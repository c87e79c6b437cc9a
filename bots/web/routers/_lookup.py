"""The 404 every router answers for a row its path names that is not stored."""

from typing import TypeVar

from fastapi import HTTPException, status

Row = TypeVar("Row")


def found(row: Row | None, what: str) -> Row:
    """``row``, or a 404 saying that ``what`` (such as ``"job 12"``) does not exist."""
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{what} does not exist")
    return row
