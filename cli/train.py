"""``queuebot train ...``: train one model and publish it as the new current version.

Workers already running pick the new version up at their next job (see ``workers.registry``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from core.settings import get_settings
from workers.model_store import ModelStore

if TYPE_CHECKING:
    from training.replies.feedback_pairs import FeedbackPairs
    from workers.ml.info import ModelInfo

# (data folder, output folder, profile, device, seed, store) -> the trained model's metadata
Trainer = Callable[[Path, Path, str, str, int, ModelStore], "ModelInfo"]

log = logging.getLogger("queuebot")

train_app = typer.Typer(
    help="Train a model; the result becomes the version workers serve.", no_args_is_help=True
)


class SentimentDomain(StrEnum):
    FINANCE = "finance"
    GENERAL = "general"


class IntentData(StrEnum):
    BANKING77 = "banking77"
    CLINC150 = "clinc150"
    SUPPORT = "support"


Profile = Annotated[str, typer.Option(help="tiny (seconds), quick (minutes) or full (the quality recipe).")]
Seed = Annotated[int, typer.Option(help="Seeds sampling, initialisation and batch order.")]
Device = Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N. Default: settings.")]
Base = Annotated[
    str | None,
    typer.Option(
        help="GPT-2 to start from: a folder or a Hugging Face name (e.g. gpt2). Default: our gpt2-base."
    ),
]


def _publish(name: str, profile: str, seed: int, device: str | None, train: Trainer) -> None:
    """Train into a staging folder of the model store and make the result current."""
    from workers.ml.device import resolve_device

    settings = get_settings()
    store = ModelStore(settings.models_dir)
    resolved = resolve_device(device or settings.device)
    with store.lock(name), store.new_version(name) as out_dir:
        info = train(settings.data_dir, out_dir, profile, resolved, seed, store)
    log.info("%s %s is now current (%s): %s", name, info.version, store.folder(name), info.metrics)


def _base_folder(store: ModelStore, base: str | None) -> str | Path:
    return base if base is not None else store.folder("gpt2-base")


@train_app.command()
def sentiment(
    domain: Annotated[
        SentimentDomain, typer.Option(help="finance: news and tweets; general: everything else.")
    ],
    profile: Profile = "full",
    seed: Seed = 0,
    device: Device = "",
) -> None:
    """Fine-tune MiniLM into a three-way (negative/neutral/positive) sentiment classifier."""
    _train_classifier(f"sentiment-{domain.value}", profile, seed, device)


@train_app.command()
def intent(
    data: Annotated[
        IntentData,
        typer.Option(
            help="banking77; clinc150 or support (customer-service intents): both detect out-of-scope."
        ),
    ],
    profile: Profile = "full",
    seed: Seed = 0,
    device: Device = "",
) -> None:
    """Fine-tune MiniLM into an intent classifier."""
    _train_classifier(f"intent-{data.value}", profile, seed, device)


@train_app.command()
def topic(profile: Profile = "full", seed: Seed = 0, device: Device = "") -> None:
    """Fine-tune MiniLM into the news-topic classifier (topic-news, BBC corpus), calibrated on validation."""
    _train_classifier("topic-news", profile, seed, device)


def _train_classifier(name: str, profile: str, seed: int, device: str) -> None:
    from training.classifier.train import train_classifier

    _publish(
        name,
        profile,
        seed,
        device or None,
        lambda data_dir, out, prof, dev, s, _store: train_classifier(name, data_dir, out, prof, dev, s),
    )


@train_app.command()
def pretrain(profile: Profile = "quick", seed: Seed = 0, device: Device = "") -> None:
    """Pre-train a GPT-2-architecture model from scratch (no GPT-2 weights can be downloaded here)."""
    from training.gpt2.pretrain import pretrain_gpt2

    _publish(
        "gpt2-base",
        profile,
        seed,
        device or None,
        lambda d, o, p, dev, s, _store: pretrain_gpt2(d, o, p, dev, s),
    )


@train_app.command()
def generator(
    profile: Profile = "quick",
    seed: Seed = 0,
    device: Device = "",
    base: Base = None,
    corpus: Annotated[
        Path | None, typer.Option(help="A .jsonl (text field) or .txt corpus. Default: BBC news.")
    ] = None,
) -> None:
    """Fine-tune GPT-2 on a text corpus for the generation jobs."""
    from training.gpt2.finetune import finetune_generator

    _publish(
        "generator",
        profile,
        seed,
        device or None,
        lambda d, o, p, dev, s, store: finetune_generator(
            d, o, p, dev, s, base=_base_folder(store, base), corpus=corpus
        ),
    )


@train_app.command()
def replies(
    profile: Profile = "quick",
    seed: Seed = 0,
    device: Device = "",
    base: Base = None,
    extra_pairs: Annotated[
        Path | None,
        typer.Option(help="Extra pairs: CSV or JSON lines with question (or instruction) and reply fields."),
    ] = None,
    feedback: Annotated[
        list[Path] | None,
        typer.Option(
            help="A `queuebot export feedback` file (repeatable): its up-voted replies join the training "
            "pairs; down votes and other jobs are skipped and counted."
        ),
    ] = None,
) -> None:
    """Fine-tune GPT-2 on customer question -> agent reply pairs (loss on the reply only)."""
    # Read first: a bad export is then a usage error naming its line, before the store is locked or
    # anything is trained.
    voted = _read_feedback(feedback) if feedback else None
    from training.gpt2.finetune import finetune_replies

    _publish(
        "replies",
        profile,
        seed,
        device or None,
        lambda d, o, p, dev, s, store: finetune_replies(
            d, o, p, dev, s, base=_base_folder(store, base), extra_pairs=extra_pairs, feedback=voted
        ),
    )


def _read_feedback(paths: list[Path]) -> FeedbackPairs:
    from training.replies.feedback_pairs import read_feedback_pairs

    try:
        return read_feedback_pairs(paths)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--feedback") from exc


@train_app.command()
def gan(profile: Profile = "quick", seed: Seed = 0, device: Device = "") -> None:
    """Train the conditional DCGAN on real handwritten digits (scikit-learn's UCI set); its model card
    holds a sample grid per digit, the loss curves and the judge's class consistency and Fréchet
    distance."""
    from training.gan.train import MODEL_NAME, train_digit_gan

    _publish(
        MODEL_NAME,
        profile,
        seed,
        device or None,
        lambda _d, o, p, dev, s, _store: train_digit_gan(o, p, dev, s),
    )


@train_app.command()
def recommender(
    feedback: Annotated[
        list[Path],
        typer.Option(
            help="A `queuebot export clicks` file (repeatable): impressions with a click are trained on, "
            "the rest skipped and counted."
        ),
    ],
    seed: Seed = 0,
    device: Device = "",
) -> None:
    """Fine-tune the ranker of suggested articles on logged clicks (text in, click as the label)."""
    from training.recommender.click_log import read_click_log
    from training.recommender.train import PROFILE, train_recommender

    try:
        clicks = read_click_log(feedback)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--feedback") from exc
    _publish(
        "recommender",
        PROFILE,
        seed,
        device or None,
        lambda _d, out, _p, dev, s, _store: train_recommender(clicks, out, dev, s),
    )
