"""Build the models the product serves, skipping those whose current version is at least as good.

A model trained with ``queuebot train ... --profile full`` is therefore kept by ``queuebot up``, whose
default profile is ``quick``.

Each model trains into a staging folder of the :class:`~workers.model_store.ModelStore` and becomes
current only when complete, so a crashed build leaves the previous version serving.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from workers.ml.device import resolve_device
from workers.ml.info import ModelInfo, read_info
from workers.model_store import ModelStore

log = logging.getLogger(__name__)

PROFILES = ("tiny", "quick", "full")  # in order of quality: a better model than asked for is kept


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
    needs: tuple[str, ...] = ()  # models that must exist first (fine-tunes start from the GPT-2 base)


def _classifier(name: str) -> ModelSpec:
    def build(ctx: BuildContext) -> ModelInfo:
        from workers.training.classifier_train import train_classifier

        return train_classifier(name, ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed)

    return ModelSpec(name, build)


def _gpt2_base(ctx: BuildContext) -> ModelInfo:
    from workers.training.gpt2_pretrain import pretrain_gpt2

    return pretrain_gpt2(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed)


def _generator(ctx: BuildContext) -> ModelInfo:
    from workers.training.gpt2_finetune import finetune_generator

    base = ctx.store.folder("gpt2-base")
    return finetune_generator(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed, base=base)


def _replies(ctx: BuildContext) -> ModelInfo:
    from workers.training.gpt2_finetune import finetune_replies

    base = ctx.store.folder("gpt2-base")
    return finetune_replies(ctx.data_dir, ctx.out_dir, ctx.profile, ctx.device, ctx.seed, base=base)


SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _classifier("sentiment-general"),
        _classifier("sentiment-finance"),
        _classifier("intent-banking77"),
        _classifier("intent-clinc150"),
        _classifier("intent-support"),
        ModelSpec("gpt2-base", _gpt2_base),
        ModelSpec("generator", _generator, needs=("gpt2-base",)),
        ModelSpec("replies", _replies, needs=("gpt2-base",)),
    )
}
# What `queuebot up` builds: every model a job can use. The intent benchmarks are built on request.
PRODUCT_MODELS = (
    "sentiment-general",
    "sentiment-finance",
    "intent-support",
    "gpt2-base",
    "generator",
    "replies",
)


def build_models(
    models_dir: Path,
    data_dir: Path,
    profile: str,
    device: str,
    names: Iterable[str] | None = None,
    force: bool = False,
    seed: int = 0,
) -> dict[str, ModelInfo]:
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

    built: dict[str, ModelInfo] = {}
    for name in _with_dependencies(wanted):
        with store.lock(name):
            cached = None if (force and name in wanted) else _cached_info(store, name, profile)
            if cached is not None:
                log.info("%s: cached (%s)", name, cached.version)
                built[name] = cached
                continue
            log.info("%s: building profile %r on %s", name, profile, device)
            started = time.perf_counter()
            with store.new_version(name) as out_dir:
                built[name] = SPECS[name].build(
                    BuildContext(Path(data_dir), out_dir, profile, device, seed, store)
                )
            log.info("%s: built %s in %.1f s", name, built[name].version, time.perf_counter() - started)
    return {name: built[name] for name in wanted}


def _with_dependencies(names: list[str]) -> list[str]:
    ordered: list[str] = []
    for name in names:
        for need in (*SPECS[name].needs, name):
            if need not in ordered:
                ordered.append(need)
    return ordered


def _cached_info(store: ModelStore, name: str, profile: str) -> ModelInfo | None:
    if store.current_version(name) is None:
        return None
    try:
        info = read_info(store.folder(name))
    except (FileNotFoundError, ValueError) as exc:
        log.warning("%s: rebuilding: %s", name, exc)
        return None
    if info.profile not in PROFILES or PROFILES.index(info.profile) < PROFILES.index(profile):
        log.info("%s: rebuilding, the current version has profile %r", name, info.profile)
        return None
    return info
