"""Query and header parameters several routers share."""

from typing import Annotated

from fastapi import Header, Path, Query

from core.jobs import MAX_OFFSET, MAX_ROW_ID

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retrying a request with the same key returns the first job instead of a second one.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=200, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Rows to skip.")]
# Every id in a path; ids start at 1.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
