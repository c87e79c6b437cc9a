"""``queuebot export ...``: stored data out as files other tools read."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

export_app = typer.Typer(help="Export stored data.", no_args_is_help=True)
log = logging.getLogger(__name__)


@export_app.command("feedback")
def export_feedback(
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")] = Path("feedback.jsonl"),
    rating: Annotated[str | None, typer.Option(help="Only 'up' or only 'down' votes.")] = None,
) -> None:
    """Votes on bot answers as training pairs: the question or prompt, the answer, and the rating."""
    from core.jobs import JobKind
    from core.slack import result_text
    from db import queries
    from db.engine import new_session
    from db.models import Rating

    chosen = None
    if rating is not None:
        try:
            chosen = Rating(rating)
        except ValueError:
            raise typer.BadParameter("rating must be 'up' or 'down'", param_hint="--rating") from None
    written = 0
    with new_session() as session, out.open("w", encoding="utf-8") as handle:
        for feedback, job in queries.feedback_with_jobs(session, rating=chosen):
            if job.result is None:
                continue  # a failed job has no answer to learn from
            record: dict[str, Any] = {
                "job_id": job.id,
                "kind": job.kind.value,
                "input": job.input["text"] if job.kind is JobKind.REPLY else job.input.get("prompt"),
                "output": result_text(job.kind, job.result),
                # How a reply was made (template, generation, handoff); null for other kinds.
                "path": job.result.get("path") if job.kind is JobKind.REPLY else None,
                "rating": feedback.rating.value,
                "source": feedback.source.value,
                "user": feedback.user_id,
                "model_name": job.model_name,
                "model_version": job.model_version,
                "rated_at": feedback.updated_at.isoformat(),
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    log.info("wrote %d rated answers to %s", written, out)


@export_app.command("clicks")
def export_clicks(
    out: Annotated[Path, typer.Option(help="JSON Lines file to write.")] = Path("clicks.jsonl"),
) -> None:
    """Suggested articles and the clicks on them, one line per impression: the recommender's training
    data (`queuebot train recommender --feedback FILE`)."""
    from db.engine import new_session
    from training.recommender.export import click_log_records

    written = 0
    with new_session() as session, out.open("w", encoding="utf-8") as handle:
        for record in click_log_records(session):
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    log.info("wrote %d impressions to %s", written, out)
