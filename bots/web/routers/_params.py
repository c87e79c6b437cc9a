"""Query and header parameters several routers share."""

from typing import Annotated

from fastapi import Header, Query

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
Offset = Annotated[int, Query(ge=0, description="Rows to skip.")]
