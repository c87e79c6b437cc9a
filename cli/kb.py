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
    from workers.knowledge.importer import import_knowledge as store_and_embed
    from workers.knowledge.sources import SourceError

    try:
        store_and_embed(path, source or str(path), get_settings().device)
    except SourceError as exc:
        raise typer.BadParameter(str(exc), param_hint="PATH") from None


@kb_app.command("demo")
def import_demo() -> None:
    """Import the demo's approved answers (the customer-support pairs) when the knowledge base is empty."""
    from workers.knowledge.importer import import_demo_knowledge_if_empty

    settings = get_settings()
    if import_demo_knowledge_if_empty(settings.data_dir, settings.device) is None:
        log.info("the knowledge base holds entries already; the demo answers were not imported")
