"""The settings object refuses combinations that would lose or double jobs."""

import pytest
from pydantic import ValidationError

from core.settings import Settings


def test_visibility_timeout_shorter_than_the_longest_job_is_refused() -> None:
    with pytest.raises(ValidationError, match="visibility_timeout"):
        Settings(task_hard_time_limit_s=600, broker_visibility_timeout_s=300)


def test_soft_time_limit_must_come_before_the_hard_one() -> None:
    with pytest.raises(ValidationError, match="soft"):
        Settings(task_soft_time_limit_s=200, task_hard_time_limit_s=150)


def test_default_database_is_a_sqlite_file_in_the_var_folder(tmp_path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="")

    assert settings.sqlalchemy_url == f"sqlite:///{tmp_path / 'queuebot.db'}"
