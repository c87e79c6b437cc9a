"""Build the models the product serves, skipping those whose current version is at least as good.

A model trained with ``queuebot train ... --profile full`` is therefore kept by ``queuebot up``, whose
default profile is ``quick``.

Each model trains into a staging folder of the :class:`~workers.model_store.ModelStore` and becomes
current only when complete, so a crashed build leaves the previous version serving.

``if_better`` is for building behind a serving product (``queuebot up`` answers with the ``starter``
profile first, then builds ``quick`` this way): a new version becomes current only if its validation
figure beats the current version's, and a profile that lost once is not tried again.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from workers.ml.device import resolve_device
from workers.ml.info import ModelInfo, read_info
from workers.model_store import ModelStore

log = logging.getLogger(__name__)

PROFILES = ("tiny", "starter", "quick", "full")  # in order of quality: a better model than asked for is kept


@dataclass(frozen=True)
class ValidationFigure:
    """The figure in ``ModelInfo.metrics`` that decides whether a new version replaces a served one.
    Profiles of one model score it on the same validation data, so the figures compare."""

    key: str
    higher_is_better: bool

    def better(self, new: ModelInfo, current: ModelInfo) -> bool:
        """Whether ``new`` beats ``current``; a current version without the figure (built before it was
        recorded) is beaten by a better profile."""
        if self.key not in current.metrics:
            return _rank(new.profile) > _rank(current.profile)
        if self.key not in new.metrics:
            raise ValueError(f"{new.name} {new.version} records no {self.key!r} to compare")
        ahead = float(new.metrics[self.key]) - float(current.metrics[self.key])
        return ahead > 0 if self.higher_is_better else ahead < 0


@dataclass(frozen=True)
class BuildEvent:
    """What a build did with one model, as it happens: for progress shown to a person."""

    name: str
    # "cached", "training", "serving" (became current), "kept" (lost on validation) or "failed"
    state: str
    profile: str
    version: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class BuildContext:
    data_dir: Path
    out_dir: Path
    profile: str
    device: str
    seed: int
    store: ModelStore


@dataclass(frozen=True)
class ModelSpec:
    name: str
    build: Callable[[BuildContext], ModelInfo]
    validation: ValidationFigure
    needs: tuple[str, ...] = ()  # models that must exist first (fine-tunes start from the GPT-2 base)
    # Served beside the frozen sentence encoder (a starter's linear head sits on it, and a product with
    # classifiers has a knowledge base): a build that holds one also makes the encoder's int8 export.
    with_encoder: bool = False


_LOWER_PERPLEXITY = ValidationFigure("val_perplexity", higher_is_better=False)
# The share of generated digits a judge classifier reads as the digit asked for (training/gan/).
_MORE_CONSISTENT = ValidationFigure("val_class_consistency", higher_is_better=True)


def _classifier(name: str, selection_metric: str) -> ModelSpec:
    def build(ctx: BuildContext) -> ModelInfo:
        from training.classifier.train import train_classifier

        return train_classifier(name, ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed)

    # The metric the recipe's early stopping selects on (``training/classifier/recipes.py``).
    return ModelSpec(
        name, build, ValidationFigure(f"val_{selection_metric}", higher_is_better=True), with_encoder=True
    )


def _gpt2_base(ctx: BuildContext) -> ModelInfo:
    from training.gpt2.pretrain import pretrain_gpt2

    return pretrain_gpt2(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed)


def _generator(ctx: BuildContext) -> ModelInfo:
    from training.gpt2.finetune import finetune_generator

    base = ctx.store.folder("gpt2-base")
    return finetune_generator(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed, base=base)


def _replies(ctx: BuildContext) -> ModelInfo:
    from training.gpt2.finetune import finetune_replies

    base = ctx.store.folder("gpt2-base")
    return finetune_replies(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed, base=base)


def _digits_gan(ctx: BuildContext) -> ModelInfo:
    from training.gan.train import train_digit_gan

    return train_digit_gan(ctx.out_dir, ctx.profile, ctx.device, ctx.seed)


SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _classifier("sentiment-general", "macro_f1"),
        _classifier("sentiment-finance", "macro_f1"),
        _classifier("intent-banking77", "accuracy"),
        _classifier("intent-clinc150", "accuracy"),
        _classifier("intent-support", "accuracy"),
        _classifier("topic-news", "accuracy"),
        ModelSpec("gpt2-base", _gpt2_base, ValidationFigure("val_news_perplexity", higher_is_better=False)),
        ModelSpec("generator", _generator, _LOWER_PERPLEXITY, needs=("gpt2-base",)),
        ModelSpec("replies", _replies, _LOWER_PERPLEXITY, needs=("gpt2-base",)),
        ModelSpec("digits-gan", _digits_gan, _MORE_CONSISTENT),
    )
}
# What `queuebot up` builds: every model a job can use. The intent benchmarks are built on request.
PRODUCT_MODELS = (
    "sentiment-general",
    "sentiment-finance",
    "intent-support",
    "topic-news",
    "gpt2-base",
    "generator",
    "replies",
    "digits-gan",
)


def build_models(
    models_dir: Path,
    data_dir: Path,
    profile: str,
    device: str,
    names: Iterable[str] | None = None,
    force: bool = False,
    seed: int = 0,
    if_better: bool = False,
    on_event: Callable[[BuildEvent], None] | None = None,
) -> dict[str, ModelInfo]:
    """The built (or kept) version of each model in ``names`` (default: what the product serves).

    ``if_better``: a new version becomes current only if it beats the current one on validation (see
    the module docstring); ``on_event`` hears of each model as the build reaches it."""
    report = on_event or (lambda event: None)
    if profile not in PROFILES:
        raise ValueError(f"unknown model profile {profile!r}; choose one of {list(PROFILES)}")
    wanted = list(dict.fromkeys(PRODUCT_MODELS if names is None else names))
    unknown = [name for name in wanted if name not in SPECS]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; choose from {sorted(SPECS)}")
    if not Path(data_dir).is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist")
    device = resolve_device(device)
    store = ModelStore(models_dir)

    order = _with_dependencies(wanted)
    forced = set(wanted) if force else set()
    built = _build_in_order(store, Path(data_dir), profile, device, order, forced, seed, if_better, report)
    if any(SPECS[name].with_encoder for name in order):
        _sentence_encoder_export(models_dir, Path(data_dir), profile)
    return {name: built[name] for name in wanted}


def _build_in_order(
    store: ModelStore,
    data_dir: Path,
    profile: str,
    device: str,
    order: list[str],
    forced: set[str],
    seed: int,
    if_better: bool,
    report: Callable[[BuildEvent], None],
) -> dict[str, ModelInfo]:
    """Build (or keep) each model of ``order`` in turn, in this process; ``order`` lists a model's
    prerequisites before it, and ``forced`` the models rebuilt even when current."""
    built: dict[str, ModelInfo] = {}
    for position, name in enumerate(order, start=1):
        with store.lock(name):
            cached = None if name in forced else _cached_info(store, name, profile, if_better)
            if cached is not None:
                log.info("%s: cached (%s)", name, cached.version)
                built[name] = cached
                report(BuildEvent(name, "cached", cached.profile, cached.version))
                continue
            log.info("%s (%d of %d): building profile %r on %s", name, position, len(order), profile, device)
            # The version field names the one still serving meanwhile, if there is one.
            report(BuildEvent(name, "training", profile, store.current_version(name)))
            started = time.perf_counter()
            try:
                with store.training(name, profile), store.new_version(name, promote=not if_better) as out:
                    built[name] = SPECS[name].build(BuildContext(data_dir, out, profile, device, seed, store))
            except Exception as exc:
                report(BuildEvent(name, "failed", profile, detail=f"{type(exc).__name__}: {exc}"))
                raise
            seconds = time.perf_counter() - started
            log.info("%s: built %s in %.1f s", name, built[name].version, seconds)
            if if_better:
                built[name] = _promote_if_better(store, SPECS[name], built[name], report)
            else:
                report(BuildEvent(name, "serving", profile, built[name].version, f"built in {seconds:.0f} s"))
    return built


def _sentence_encoder_export(models_dir: Path, data_dir: Path, profile: str) -> None:
    """The knowledge base's encoder served int8 (``training/int8/``): made and scored once per models
    folder, on airline tweets as queries against others embedded in fp32, like the stored questions."""
    from training.int8.scoring import export_and_score_encoder

    # A first run waits for this check: 200 queries against 1,000 took 24 s on the shared machine.
    queries, corpus = {"tiny": (60, 200), "starter": (100, 400)}.get(profile, (200, 1000))
    with (Path(data_dir) / "streams" / "airline_tweets.csv").open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)][: queries + corpus]
    export_and_score_encoder(models_dir, texts[:queries], texts[queries:])


def _promote_if_better(
    store: ModelStore, spec: ModelSpec, new: ModelInfo, report: Callable[[BuildEvent], None]
) -> ModelInfo:
    """Serve ``new`` if it beats the current version on validation; the version that serves."""
    current = _current_info(store, spec.name)
    figure = spec.validation
    if current is None or figure.better(new, current):
        store.promote(spec.name, new.version)
        was = "" if current is None else f" (was {current.version}: {current.metrics.get(figure.key)})"
        detail = f"validation {figure.key} {new.metrics[figure.key]}{was}"
        log.info("%s: now serving %s; %s", spec.name, new.version, detail)
        report(BuildEvent(spec.name, "serving", new.profile, new.version, detail))
        return new
    detail = (
        f"validation {figure.key} {new.metrics.get(figure.key)} does not beat {current.version}'s "
        f"{current.metrics.get(figure.key)}"
    )
    log.info("%s: keeps serving %s; %s %s", spec.name, current.version, new.version, detail)
    report(BuildEvent(spec.name, "kept", current.profile, current.version, f"{new.version}: {detail}"))
    return current


def _rank(profile: str) -> int:
    return PROFILES.index(profile) if profile in PROFILES else -1


def _with_dependencies(names: list[str]) -> list[str]:
    ordered: list[str] = []
    for name in names:
        for need in (*SPECS[name].needs, name):
            if need not in ordered:
                ordered.append(need)
    return ordered


def _current_info(store: ModelStore, name: str) -> ModelInfo | None:
    if store.current_version(name) is None:
        return None
    try:
        return read_info(store.folder(name))
    except (FileNotFoundError, ValueError) as exc:
        log.warning("%s: rebuilding: %s", name, exc)
        return None


def _cached_info(store: ModelStore, name: str, profile: str, if_better: bool) -> ModelInfo | None:
    """The current version, if no build is needed: it has the profile asked for or a better one, or
    (``if_better``) some version of that profile has already been built and lost on validation."""
    info = _current_info(store, name)
    if info is None:
        return None
    if _rank(info.profile) >= _rank(profile):
        return info
    if if_better:
        for version in store.versions(name):
            tried = read_info(store.folder(name, version))
            if _rank(tried.profile) >= _rank(profile):
                log.info(
                    "%s: %s (%s) lost to the current version on validation once", name, version, tried.profile
                )
                return info
    log.info("%s: rebuilding, the current version has profile %r", name, info.profile)
    return None
