"""A streamed completion choice never sends text the client must unlearn: it holds back what could
become a stop string, stops at one, waits out a new run of the job until it passes what was sent, and
at the end sends the rest of the stored text, or says that what was sent is not its start."""

from __future__ import annotations

from bots.web.openai_api.choice_text import ChoiceText, cut_at_stop


def _sent(choice: ChoiceText, *pieces: str) -> list[str]:
    return [choice.add(piece) for piece in pieces]


def test_without_stop_strings_every_piece_goes_out_and_the_stored_text_finishes_it() -> None:
    choice = ChoiceText()

    assert _sent(choice, "Markets ", "rose") == ["Markets ", "rose"]
    assert choice.finish("Markets rose today.") == " today."
    assert not choice.stopped


def test_text_that_could_start_a_stop_string_waits_for_the_next_piece() -> None:
    choice = ChoiceText(stops=["END"])

    assert _sent(choice, "abc E", "N", "x", "yz E", "ND more") == ["abc ", "", "ENx", "yz ", ""]
    assert choice.stopped
    assert choice.finish("abc ENxyz END more and more") == ""
    assert choice.sent == "abc ENxyz "


def test_the_earliest_of_several_stop_strings_ends_the_text() -> None:
    assert cut_at_stop("one. two\nthree", [".", "\n"]) == ("one", True)
    assert cut_at_stop("no stop here", ["END"]) == ("no stop here", False)


def test_a_new_run_is_followed_once_it_passes_what_was_sent() -> None:
    choice = ChoiceText()
    assert choice.add("Hello") == "Hello"

    choice.restart()

    assert _sent(choice, "Hel", "lo there") == ["", " there"]
    assert choice.finish("Hello there") == ""


def test_a_new_run_that_differs_is_reported_at_the_end() -> None:
    choice = ChoiceText()
    assert choice.add("Hello") == "Hello"
    choice.restart()

    assert choice.add("Goodbye") == ""
    assert choice.finish("Goodbye") is None


def test_a_choice_without_pieces_gets_the_stored_text_cut_at_its_stop() -> None:
    choice = ChoiceText(stops=["\n"])

    assert choice.finish("first line\nsecond line") == "first line"
    assert choice.stopped
