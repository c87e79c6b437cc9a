"""A finished generation as Slack shows it: the texts, and a note when the prompt did not fit."""

from core.jobs import JobKind
from core.slack import result_text


def test_a_generation_whose_prompt_fitted_is_its_text_alone() -> None:
    assert (
        result_text(JobKind.GENERATE, {"texts": ["It rained."], "prompt_tokens_dropped": 0}) == "It rained."
    )


def test_a_generation_from_a_cut_prompt_says_how_many_tokens_were_left_out() -> None:
    text = result_text(JobKind.GENERATE, {"texts": ["One.", "Two."], "prompt_tokens_dropped": 37})

    assert text.startswith("*1.* One.\n\n*2.* Two.")
    assert "its first 37 tokens were left out" in text


def test_results_stored_before_the_cut_was_recorded_still_read() -> None:
    assert result_text(JobKind.GENERATE, {"texts": ["Old."]}) == "Old."
