"""What of a generated reply may be sent: one clean paragraph, and only if it stays close to the
approved answers it was written from (real MiniLM)."""

from __future__ import annotations

import pytest

from workers.knowledge.embedding import load_kb_encoder
from workers.ml.embedding import SentenceEncoder
from workers.replies.generation import MAX_GENERATED_CHARS, clean_generated, grounding

APPROVED = [
    "I'm here to help you cancel your order. Log in to your account, open Order History and choose "
    "Cancel Order.",
]


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_kb_encoder("cpu")


@pytest.mark.parametrize(
    ("generated", "cleaned"),
    [
        ("Sure.\n\nOpen  {{Order History}} and\tpick it.", "Sure. Open {{Order History}} and pick it."),
        ("Our {{ support team is }} here {{ to help.", "Our {{support team is}} here to help."),
        ("Our team, {{ our support } help you.", "Our team, our support help you."),
        ("Open Order History. Then choose the ord", "Open Order History."),
        ("bell\x07 ring", "bell ring"),
    ],
)
def test_a_generated_reply_becomes_one_clean_paragraph(generated: str, cleaned: str) -> None:
    assert clean_generated(generated) == cleaned


def test_a_runaway_reply_is_cut_at_its_last_full_sentence_within_the_limit() -> None:
    sentence = "Please open Order History to see it. "
    cleaned = clean_generated(sentence * 40)

    assert len(cleaned) <= MAX_GENERATED_CHARS
    assert cleaned.endswith("see it.")


def test_an_on_topic_reply_is_grounded_and_word_salad_is_not(encoder: SentenceEncoder) -> None:
    on_topic = "You can cancel your order from Order History once you are logged in to your account."
    salad = "Click. I the the and the account to the the happy. They assistance you website."

    assert grounding(encoder, on_topic, APPROVED) > 0.7
    assert grounding(encoder, salad, APPROVED) < 0.4
    assert grounding(encoder, on_topic, []) == -1.0
