"""The settings object refuses combinations that would lose or double jobs."""

import threading

import pytest
from pydantic import ValidationError

from core.jobs import JobKind
from core.settings import DEVELOPMENT_API_TOKEN, Settings, get_settings, reset_settings_cache


def test_visibility_timeout_shorter_than_the_longest_job_is_refused() -> None:
    with pytest.raises(ValidationError, match="visibility_timeout"):
        Settings(task_hard_time_limit_s=600, broker_visibility_timeout_s=300)


def test_soft_time_limit_must_come_before_the_hard_one() -> None:
    with pytest.raises(ValidationError, match="soft"):
        Settings(task_soft_time_limit_s=200, task_hard_time_limit_s=150)


def test_default_database_is_a_sqlite_file_in_the_var_folder(tmp_path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="")

    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'queuebot.db'}"


def test_a_slack_bot_token_without_a_way_in_is_refused() -> None:
    with pytest.raises(ValidationError, match="QUEUEBOT_SLACK_APP_TOKEN .* or QUEUEBOT_SLACK_SIGNING_SECRET"):
        Settings(slack_bot_token="xoxb-1", slack_app_token=None, slack_signing_secret=None)


def test_slack_api_url_must_keep_its_trailing_slash() -> None:
    with pytest.raises(ValidationError, match="end with '/'"):
        Settings(slack_api_url="http://127.0.0.1:9/api")


def test_empty_environment_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # docker-compose passes QUEUEBOT_SLACK_BOT_TOKEN=${TOKEN:-}: empty must mean "Slack off".
    monkeypatch.setenv("QUEUEBOT_SLACK_BOT_TOKEN", "")
    monkeypatch.setenv("QUEUEBOT_SLACK_SIGNING_SECRET", "")

    assert Settings().slack_enabled is False


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "queuebot.example.com"])
def test_a_server_reachable_from_elsewhere_refuses_the_development_token(host: str) -> None:
    with pytest.raises(ValidationError, match="QUEUEBOT_API_TOKEN is still the published development token"):
        Settings(web_host=host, api_token=DEVELOPMENT_API_TOKEN)

    assert Settings(web_host=host, api_token="a-secret-of-this-deployment").web_host == host


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_the_development_token_is_fine_on_this_machine_alone(host: str) -> None:
    assert Settings(web_host=host, api_token=DEVELOPMENT_API_TOKEN).web_host == host


def test_every_job_kind_has_its_own_queue_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    for bound, kind in enumerate(JobKind, start=7):
        monkeypatch.setenv(f"QUEUEBOT_MAX_QUEUED_{kind.value.upper()}", str(bound))

    settings = Settings()
    assert [settings.max_queued(kind) for kind in JobKind] == list(range(7, 7 + len(JobKind)))


def test_a_reset_is_never_undone_by_a_reading_another_thread_began_before_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server thread reads the settings while a test changes the environment: a reading it began
    # before the reset must not become the cached settings after it.
    stop = threading.Event()

    def read_all_the_time() -> None:
        while not stop.is_set():
            get_settings()

    readers = [threading.Thread(target=read_all_the_time, daemon=True) for _ in range(2)]
    for reader in readers:
        reader.start()
    try:
        stale = []
        for round_number in range(1000):
            token = f"round-{round_number}"
            monkeypatch.setenv("QUEUEBOT_API_TOKEN", token)
            reset_settings_cache()
            get_settings()  # races the readers to fill the cache; the next call reads what won
            if get_settings().api_token.get_secret_value() != token:
                stale.append(round_number)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
        monkeypatch.undo()
        reset_settings_cache()

    assert stale == []
