"""``queuebot kb ...``: the knowledge base of approved answers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from core.settings import get_settings

kb_app = typer.Typer(help="Manage the knowledge base of approved answers.", no_args_is_help=True)
log = logging.getLogger("queuebot")


@kb_app.command("import")
def import_knowledge(
    path: Annotated[Path, typer.Argument(help="A .csv or .jsonl file, or a folder of .md articles.")],
    source: Annotated[
        str | None, typer.Option(help="Name stored with the entries. Default: the path.")
    ] = None,
) -> None:
    """Add the answers and questions in PATH that are not stored yet, then embed new questions."""
    from tqdm import tqdm

    from db.engine import new_session
    from workers.knowledge.embedding import KB_ENCODER_NAME, embed_pending_questions, load_kb_encoder
    from workers.knowledge.sources import SourceError, read_source
    from workers.knowledge.store import store_items
    from workers.ml.device import resolve_device

    settings = get_settings()
    try:
        items = read_source(path)
    except SourceError as exc:
        raise typer.BadParameter(str(exc), param_hint="PATH") from None
    with new_session() as session:
        counts = store_items(session, items, source or str(path))
        session.commit()
        log.info(
            "%s: %d items; %d new entries, %d new questions, %d already stored",
            path,
            len(items),
            counts.entries_added,
            counts.questions_added,
            counts.unchanged,
        )
        encoder = load_kb_encoder(resolve_device(settings.device))
        with tqdm(desc="embedding questions", unit="q", disable=None) as bar:
            embedded = embed_pending_questions(session, encoder, KB_ENCODER_NAME, progress=bar.update)
    log.info("embedded %d questions with %s", embedded, KB_ENCODER_NAME)
