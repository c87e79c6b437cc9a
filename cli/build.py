"""``queuebot build-models``: every model the workers serve, built into the models folder."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.options import ProfileOption
from core.settings import get_settings

log = logging.getLogger("queuebot")


def build_models_command(
    profile: ProfileOption = None,
    force: Annotated[bool, typer.Option(help="Rebuild models that are already built.")] = False,
    only: Annotated[list[str] | None, typer.Option(help="Build only these models (repeatable).")] = None,
    if_better: Annotated[
        bool,
        typer.Option(
            help="Serve a new version only if it beats the current one on validation (for building behind "
            "a running product); a profile that lost once is not built again."
        ),
    ] = False,
    publish_status: Annotated[
        bool, typer.Option(help="Publish progress to Redis for the web page and GET /api/models.")
    ] = False,
) -> None:
    """Train or build the models the workers need into the models folder."""
    from training.build import build_models

    settings = get_settings()
    on_event = None
    if publish_status:
        from cli.build_status import redis_publisher

        on_event = redis_publisher(settings.redis_url)
    infos = build_models(
        settings.models_dir,
        settings.data_dir,
        profile or settings.model_profile,
        settings.device,
        names=only,
        force=force,
        if_better=if_better,
        on_event=on_event,
    )
    for name, info in infos.items():
        log.info("%s %s: %s", name, info.version, info.metrics)
