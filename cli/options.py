"""Options that several commands share."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import ModelProfile

ProfileOption = Annotated[
    ModelProfile | None,
    typer.Option(
        help="'quick' (minutes on a CPU), 'full' (the quality recipe), 'starter' (what a first run "
        "answers with while quick trains) or 'tiny' (seconds; tests). Default: settings."
    ),
]
