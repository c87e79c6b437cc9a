"""A report's words: key terms of its negative items, and a summary written only from its figures."""

from __future__ import annotations

from db.trends import SentimentMix
from workers.monitoring.report_text import key_terms, summary


def test_key_terms_are_the_words_most_negative_items_share_without_stop_words_names_or_handles() -> None:
    texts = [
        "@united my flight was delayed again and the baggage is lost",
        "@united delayed 3 hours, baggage nowhere http://t.co/xyz",
        "United delayed my connection #fail",
        "the crew was rude",
    ]

    assert key_terms(texts, topic="United") == ["delayed", "baggage"]


def test_a_word_repeated_within_one_item_is_not_a_key_term() -> None:
    assert key_terms(["refund refund refund refund", "lost luggage", "lost bag"], topic="acme") == ["lost"]


def test_the_summary_states_the_mix_the_change_the_alerts_and_the_key_terms() -> None:
    mix = SentimentMix(volume=200, negatives=120, neutrals=50, positives=30, mean_score=-0.41)
    before = SentimentMix(volume=100, negatives=30, neutrals=40, positives=30, mean_score=-0.05)

    text = summary("Delta", mix, before, alerts_raised=1, terms=["delayed", "baggage"])

    assert text == (
        "200 items on Delta: 60% negative, 25% neutral, 15% positive (mean score -0.41). "
        "Negative share up 30 points on the period before (30% of 100); volume 2.0× as high. "
        "1 spike alert raised. Negative items mention most: delayed, baggage."
    )


def test_the_summary_says_when_the_period_before_was_empty_and_leaves_out_what_there_is_not() -> None:
    mix = SentimentMix(volume=1, negatives=0, neutrals=1, positives=0, mean_score=0.0)

    text = summary("Delta", mix, None, alerts_raised=0, terms=[])

    assert text == (
        "1 item on Delta: 0% negative, 100% neutral, 0% positive (mean score +0.00). "
        "Nothing arrived in the period before."
    )


def test_a_falling_negative_share_and_volume_read_as_down() -> None:
    mix = SentimentMix(volume=80, negatives=8, neutrals=40, positives=32, mean_score=0.2)
    before = SentimentMix(volume=100, negatives=30, neutrals=40, positives=30, mean_score=-0.05)

    assert "Negative share down 20 points on the period before (30% of 100); volume down 20%." in summary(
        "Delta", mix, before, 0, []
    )
