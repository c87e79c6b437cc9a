"""``queuebot models ...``: list, promote (roll back) and prune model versions."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import get_settings

models_app = typer.Typer(help="Inspect and manage model versions.", no_args_is_help=True)


@models_app.command("list")
def list_models() -> None:
    """Every model in the models folder, its versions, and which one workers serve."""
    from rich.console import Console
    from rich.table import Table

    from workers.ml.info import read_info
    from workers.model_store import ModelStore

    store = ModelStore(get_settings().models_dir)
    table = Table(title=f"models in {store.root}")
    for column in ("name", "version", "current", "profile", "parameters", "metrics"):
        table.add_column(column)
    names = sorted(p.name for p in store.root.iterdir() if p.is_dir()) if store.root.is_dir() else []
    for name in names:
        current = store.current_version(name)
        for version in store.versions(name):
            info = read_info(store.folder(name, version))
            metrics = ", ".join(f"{k} {v:.3f}" for k, v in list(info.metrics.items())[:4])
            table.add_row(
                name,
                version,
                "*" if version == current else "",
                info.profile,
                f"{info.parameters:,}",
                metrics,
            )
    Console().print(table)


@models_app.command()
def promote(
    name: str, version: Annotated[str, typer.Argument(help="A version listed by `models list`.")]
) -> None:
    """Serve another version of a model (roll back or forward); workers switch at their next job."""
    from workers.model_store import ModelStore

    ModelStore(get_settings().models_dir).promote(name, version)
    typer.echo(f"{name}: now serving {version}")


@models_app.command()
def prune(name: str, keep: Annotated[int, typer.Option(min=1, help="Versions to keep.")] = 3) -> None:
    """Delete old versions of a model, never the current one."""
    from workers.model_store import ModelStore

    removed = ModelStore(get_settings().models_dir).prune(name, keep)
    typer.echo(f"{name}: removed {', '.join(removed) or 'nothing'}")
