"""Where trained models live on disk: one folder per version, and a pointer to the current one.

    models/<name>/<version>/     a Hugging Face folder with queuebot.json and README.md
    models/<name>/CURRENT        the version workers serve

A new version is written under a staging name, renamed into place whole, and only then made current
by atomically replacing ``CURRENT``; a worker reading the pointer sees either the old version or the
new one, never a half-written folder. Old versions stay until pruned, so rolling back is one pointer
write. This module is torch-free: the builder, the registry and the CLI all use it.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from workers.ml.info import INFO_FILE  # torch-free: the metadata every trainer writes last

CURRENT_FILE = "CURRENT"
_STAGING_PREFIX = ".staging-"
_TRAINING_FILE = ".training.json"


class ModelNotBuiltError(FileNotFoundError):
    pass


class ModelStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def current_version(self, name: str) -> str | None:
        try:
            version = (self.root / name / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return version or None

    def folder(self, name: str, version: str | None = None) -> Path:
        """The folder of ``version`` (default: the current one); an error naming the fix if there is none."""
        version = version or self.current_version(name)
        if version is None:
            raise ModelNotBuiltError(
                f"model {name!r} is not built: no {self.root / name / CURRENT_FILE}. "
                "Run `queuebot build-models` (or the matching `queuebot train` command)."
            )
        folder = self.root / name / version
        if not (folder / INFO_FILE).is_file():
            raise ModelNotBuiltError(f"model {name!r} version {version!r} is incomplete or missing: {folder}")
        return folder

    def versions(self, name: str) -> list[str]:
        """Complete versions, oldest first (by the creation time in their metadata)."""
        base = self.root / name
        if not base.is_dir():
            return []
        created = {
            p.name: json.loads((p / INFO_FILE).read_text(encoding="utf-8"))["created_at"]
            for p in base.iterdir()
            if (p / INFO_FILE).is_file()
        }
        return sorted(created, key=lambda version: (created[version], version))

    def current_info(self, name: str) -> dict[str, object] | None:
        """The current version's metadata as JSON, or None when the model is not built."""
        try:
            folder = self.folder(name)
        except ModelNotBuiltError:
            return None
        return json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))

    @contextmanager
    def new_version(self, name: str, promote: bool = True) -> Iterator[Path]:
        """Yield an empty folder to train into; on success it becomes a version, and the current one
        unless ``promote`` is False (the caller then decides, e.g. on validation figures).

        The version is read from the ``queuebot.json`` the trainer wrote. If the block raises, the
        staging folder is removed and the current version is untouched.
        """
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=base))
        try:
            yield staging
            info = staging / INFO_FILE
            if not info.is_file():
                raise RuntimeError(f"training {name!r} wrote no {INFO_FILE}; nothing was published")
            version = json.loads(info.read_text(encoding="utf-8"))["version"]
            _open_permissions(staging)
            target = base / version
            if target.exists():
                raise FileExistsError(f"model {name!r} already has a version {version!r} at {target}")
            os.replace(staging, target)
            if promote:
                self.promote(name, version)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    @contextmanager
    def training(self, name: str, profile: str) -> Iterator[None]:
        """Mark ``name`` as being trained (with ``profile``, by this process) for as long as the block
        runs, so that ``queuebot models list`` can say what is training and since when."""
        marker = self.root / name / _TRAINING_FILE
        marker.parent.mkdir(parents=True, exist_ok=True)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        marker.write_text(json.dumps({"profile": profile, "since": since, "pid": os.getpid()}), "utf-8")
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def training_status(self, name: str) -> dict[str, object] | None:
        """``{"profile", "since", "pid"}`` while a live process on this machine trains ``name``."""
        try:
            status = json.loads((self.root / name / _TRAINING_FILE).read_text(encoding="utf-8"))
            os.kill(int(status["pid"]), 0)  # a marker left by a killed build names a dead process
        except (FileNotFoundError, ValueError, KeyError, TypeError, ProcessLookupError):
            return None
        except PermissionError:
            pass  # alive, but another user's process
        return dict(status)

    def promote(self, name: str, version: str) -> None:
        """Make ``version`` current (also how to roll back): workers switch at their next job."""
        self.folder(name, version)  # refuse to point at something that is not a complete model
        pointer = self.root / name / CURRENT_FILE
        partial = pointer.with_name(f".{CURRENT_FILE}.partial")
        partial.write_text(version + "\n", encoding="utf-8")
        os.replace(partial, pointer)

    def prune(self, name: str, keep: int) -> list[str]:
        """Delete all but the newest ``keep`` versions, never the current one; returns what was removed."""
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        current = self.current_version(name)
        old = [version for version in self.versions(name)[:-keep] if version != current]
        for version in old:
            shutil.rmtree(self.root / name / version)
        return old

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Hold the build lock of one model across processes (two workers starting at once).

        Under the lock, staging folders left by a crashed build of this model are removed. Builds of
        different models do not wait for each other.
        """
        base = self.root / name
        base.mkdir(parents=True, exist_ok=True)
        with (base / ".build.lock").open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                for staging in base.glob(f"{_STAGING_PREFIX}*"):
                    shutil.rmtree(staging, ignore_errors=True)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _open_permissions(tree: Path) -> None:
    # mkdtemp and safetensors create owner-only entries, but workers may run as another user than the
    # builder; models hold nothing secret, so make them world-readable like a normal install.
    for path in [tree, *tree.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
