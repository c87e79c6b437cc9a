"""``queuebot models ...``: list, promote (roll back) and prune model versions."""

from __future__ import annotations

from typing import Annotated

import typer

from core.settings import get_settings

models_app = typer.Typer(help="Inspect and manage model versions.", no_args_is_help=True)


@models_app.command("list")
def list_models() -> None:
    """Every model in the models folder, its versions, which one workers serve, and what is training."""
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
        training = store.training_status(name)
        if training is not None:
            table.add_row(name, "(training)", "", str(training["profile"]), "", f"since {training['since']}")
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


@models_app.command()
def sample(
    name: Annotated[str, typer.Argument(help="A text model: generator, replies or gpt2-base.")],
    prompts: Annotated[
        list[str], typer.Argument(help="Texts to continue (for replies: customer questions).")
    ],
    samples: Annotated[
        int, typer.Option(min=1, max=20, help="Samples per prompt, seeds seed .. seed+N-1.")
    ] = 5,
    max_new_tokens: Annotated[int, typer.Option(min=1, max=500)] = 60,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.8,
    top_p: Annotated[float, typer.Option(min=0.01, max=1.0)] = 0.95,
    seed: int = 1,
) -> None:
    """Seeded samples from the current version of a text model, without the queue: for trying a build."""
    from workers.ml.copy_mixture import CopySource
    from workers.ml.device import resolve_device
    from workers.ml.generator import KINDS, GenerationRequest, TextGenerator
    from workers.ml.info import read_info
    from workers.model_store import ModelStore

    settings = get_settings()
    folder = ModelStore(settings.models_dir).folder(name)
    info = read_info(folder)
    # A base is served by no job, but it continues text like any GPT-2.
    try:
        model = TextGenerator.load(folder, resolve_device(settings.device), kinds=(*KINDS, "gpt2-base"))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from None
    parts = (
        [] if model.mixture is None else [f"with its n-gram, transformer weight {model.mixture.weight:.2f}"]
    )
    if model.copy is not None:
        parts.append(
            "copying from the text so far"
            if model.copy.source is CopySource.TEXT
            else "copying from the prompt"
        )
    typer.echo(f"{name} {info.version} ({info.profile}, {', '.join(parts) or 'the transformer alone'})")
    for prompt in prompts:
        if info.kind == "replies":
            requests = [
                model.reply_request(
                    prompt, max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed + i
                )
                for i in range(samples)
            ]
        else:
            requests = [
                GenerationRequest(prompt, max_new_tokens, temperature, top_p, 1, seed + i)
                for i in range(samples)
            ]
        typer.echo(f"\n{prompt}")
        for i, [text] in enumerate(model.generate_batch(requests)):
            typer.echo(f"  [seed {seed + i}] {text}")
