"""A server's start-up objects are left to reference counting: full collections skip them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bots.web.app import create_app
from core.long_lived import freeze_start_up_objects
from core.settings import get_settings
from tests.reliability.overrides import settings_env


@pytest.fixture
def nothing_frozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite collects as before


class _Loaded:
    """Stands for a loaded model: a container the collector tracks."""


@pytest.mark.usefixtures("nothing_frozen")
def test_what_is_alive_when_start_up_ends_is_frozen_and_what_comes_later_is_not() -> None:
    loaded = _Loaded()
    freeze_start_up_objects()
    later = _Loaded()

    assert gc.get_freeze_count() > 0
    assert gc.is_tracked(loaded) and gc.is_tracked(later)
    # Collections see only what is not frozen.
    assert all(obj is not loaded for obj in gc.get_objects())
    assert any(obj is later for obj in gc.get_objects())


@pytest.mark.usefixtures("nothing_frozen")
def test_the_web_app_freezes_its_start_up_objects_before_serving() -> None:
    app = create_app(get_settings().model_copy(update={"slack_signing_secret": None}))  # no Slack here
    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert gc.get_freeze_count() > 0
        assert client.get("/healthz").status_code == 200


@pytest.mark.usefixtures("nothing_frozen", "redis_server", "database")
def test_a_worker_process_freezes_its_start_up_objects_before_it_takes_a_job() -> None:
    from celery.signals import worker_process_init

    import workers.celery_app  # noqa: F401 - connects the worker's handlers

    with settings_env(warm_up_models=False):
        worker_process_init.send(sender=None)  # what a prefork child hears once it is forked

    assert gc.get_freeze_count() > 0
