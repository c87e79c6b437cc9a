"""Child processes of the embedded stack get exactly the parent's settings, complex fields included."""

import pytest
from pydantic import SecretStr

from cli.embedded import settings_env
from core.settings import Settings


def test_a_child_reads_back_the_settings_it_was_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # pydantic-settings merges a dict given here into one from the environment; start from none.
    monkeypatch.delenv("QUEUEBOT_SLACK_MONITORED_CHANNELS")
    given = Settings(
        slack_bot_token=SecretStr("xoxb-1"),
        slack_signing_secret=SecretStr("secret"),
        slack_monitored_channels={"C1": "billing", "C2": ""},
        warm_up_models=False,
    )

    for name, value in settings_env(given).items():
        if name.startswith("QUEUEBOT_"):
            monkeypatch.setenv(name, value)
    child = Settings()

    assert child.slack_monitored_channels == {"C1": "billing", "C2": ""}
    assert child.slack_bot_token is not None and child.slack_bot_token.get_secret_value() == "xoxb-1"
    assert child.warm_up_models is False
