"""What people type after /generate: options from the end of the text, with forgiving names."""

import pytest

from bots.slack.command_text import CommandError, parse_generate


def test_options_at_the_end_are_read_and_the_rest_is_the_prompt() -> None:
    payload = parse_generate("Once upon a time, in Paris tokens=30 temp=1.2")

    assert (payload.prompt, payload.max_new_tokens, payload.temperature) == (
        "Once upon a time, in Paris",
        30,
        1.2,
    )


def test_a_prompt_without_options_gets_the_defaults() -> None:
    payload = parse_generate("  The markets opened  ")

    assert (payload.prompt, payload.max_new_tokens, payload.temperature) == ("The markets opened", 64, 0.8)


def test_an_equals_sign_inside_the_prompt_is_left_alone() -> None:
    assert parse_generate("x=1 is a line of code max_tokens=5").prompt == "x=1 is a line of code"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello temperature=hot", "`temperature`: Input should be a valid number"),
        ("Hello temperature=3", "`temperature`: Input should be less than or equal to 2"),
        ("max_tokens=5", "Give me a prompt"),
    ],
)
def test_bad_options_say_what_is_wrong_and_how_to_write_it(text: str, message: str) -> None:
    with pytest.raises(CommandError, match="Usage: `/generate") as error:
        parse_generate(text)

    assert message in str(error.value)
