"""The settings object refuses combinations that would lose or double jobs."""

import pytest
from pydantic import ValidationError

from core.jobs import JobKind
from core.settings import DEVELOPMENT_API_TOKEN, Settings


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
