"""Settings for one test: the web app's handlers read the process's settings on every request, so the
session's server follows an environment change once the settings cache is reset."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.settings import reset_settings_cache


@contextmanager
def settings_env(**values: object) -> Iterator[None]:
    """``QUEUEBOT_<NAME>=value`` for each keyword while the block runs."""
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name, value in values.items():
                patch.setenv(f"QUEUEBOT_{name.upper()}", str(value))
            reset_settings_cache()
            yield
    finally:
        # After the environment is back, so the next reader (a server thread too) sees it.
        reset_settings_cache()
