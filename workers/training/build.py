"""Build every model a worker needs, skipping those already built with the same profile.

Each model is built in a temporary folder inside ``models_dir`` and renamed into place, so the folder
a loader looks at holds either a complete model or nothing, even if the build crashes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from workers.ml.device import resolve_device
from workers.ml.info import INFO_FILE, ModelInfo, read_info
from workers.training import generator, reply_index, sentiment
from workers.training.profiles import get_profile

log = logging.getLogger(__name__)

Builder = Callable[[Path, Path, str, str, int], ModelInfo]

BUILDERS: dict[str, Builder] = {
    "sentiment": sentiment.train_sentiment,
    "generator": generator.train_generator,
    "reply-retriever": reply_index.build_reply_index,
}
DATA_FILES: dict[str, tuple[str, ...]] = {
    "sentiment": sentiment.DATA_FILES,
    "generator": generator.DATA_FILES,
    "reply-retriever": reply_index.DATA_FILES,
}
_STAGING_PREFIX = ".staging-"
_RETIRED_PREFIX = ".retired-"


def model_folder(models_dir: Path, name: str) -> Path:
    if name not in BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose from {sorted(BUILDERS)}")
    return Path(models_dir) / name


def build_models(
    models_dir: Path,
    data_dir: Path,
    profile: str,
    device: str,
    names: Iterable[str] | None = None,
    force: bool = False,
) -> dict[str, ModelInfo]:
    get_profile(profile)  # fail on a typo before any work
    wanted = list(BUILDERS) if names is None else list(dict.fromkeys(names))
    folders = {name: model_folder(models_dir, name) for name in wanted}
    check_data_files(data_dir, wanted)
    device = resolve_device(device)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)

    built: dict[str, ModelInfo] = {}
    with _exclusive(models_dir):
        _remove_leftovers(models_dir)
        for name, folder in folders.items():
            cached = None if force else _cached_info(folder, profile)
            if cached is not None:
                log.info("%s: cached (%s in %s)", name, cached.version, folder)
                built[name] = cached
                continue
            log.info("%s: building profile %r on %s into %s", name, profile, device, folder)
            started = time.perf_counter()
            built[name] = _build_into_place(name, folder, data_dir, profile, device)
            log.info("%s: built %s in %.1f s", name, built[name].version, time.perf_counter() - started)
    return built


def check_data_files(data_dir: Path, names: Iterable[str]) -> None:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data folder {data_dir} does not exist")
    for name in names:
        for relative in DATA_FILES[name]:
            if not (data_dir / relative).is_file():
                raise FileNotFoundError(f"{name} needs data file {data_dir / relative}, which does not exist")


def _cached_info(folder: Path, profile: str) -> ModelInfo | None:
    if not (folder / INFO_FILE).is_file():
        return None
    try:
        info = read_info(folder)
    except ValueError as exc:
        log.warning("rebuilding: %s", exc)
        return None
    if info.profile != profile:
        log.info("%s: rebuilding, the model on disk has profile %r", info.name, info.profile)
        return None
    return info


def _build_into_place(name: str, folder: Path, data_dir: Path, profile: str, device: str) -> ModelInfo:
    staging = Path(tempfile.mkdtemp(prefix=f"{_STAGING_PREFIX}{name}-", dir=folder.parent))
    try:
        info = BUILDERS[name](data_dir, staging, profile, device, 0)
        _open_permissions(staging)
        if folder.exists():
            # A directory cannot be renamed over a non-empty one: move the old one aside first. Between
            # the two renames the loader finds no model (a clear error), never a mix of two.
            retired = Path(tempfile.mkdtemp(prefix=f"{_RETIRED_PREFIX}{name}-", dir=folder.parent))
            os.replace(folder, retired / name)
            os.replace(staging, folder)
            shutil.rmtree(retired)
        else:
            os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return info


def _open_permissions(tree: Path) -> None:
    # mkdtemp (and safetensors) create owner-only entries, but workers may run as another user than the
    # builder; models hold nothing secret, so make them world-readable like a normal install.
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _remove_leftovers(models_dir: Path) -> None:
    # Only a crashed build leaves these behind: the lock guarantees no other build is using them.
    for path in models_dir.iterdir():
        if path.is_dir() and path.name.startswith((_STAGING_PREFIX, _RETIRED_PREFIX)):
            log.warning("removing %s left by an interrupted build", path)
            shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _exclusive(models_dir: Path) -> Iterator[None]:
    """Serialise builds into one models folder across processes (two workers starting at once)."""
    with (models_dir / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
