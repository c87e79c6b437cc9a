"""``queuebot up``: the whole product on one machine."""

from __future__ import annotations

import typer

from cli.options import ProfileOption
from core.settings import get_settings


def up(profile: ProfileOption = None) -> None:
    """Run the whole product: Redis, migrations, models (built on first run), a worker and the web app."""
    from cli.embedded import run_embedded

    settings = get_settings()
    if profile is not None:
        settings = settings.model_copy(update={"model_profile": profile})
    raise typer.Exit(run_embedded(settings))
