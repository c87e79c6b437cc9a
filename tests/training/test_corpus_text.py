"""The corpora's damaged characters are repaired where they are read, so no model learns them."""

from __future__ import annotations

from tests.support.model_fixtures import DATA_DIR
from training.classifier.labelled_data import bbc_news
from training.corpus_text import repair_mojibake
from training.gpt2.data import CORPUS_FILE, read_news_articles


def test_a_pound_sign_read_once_as_latin_1_is_put_back() -> None:
    assert repair_mojibake("a Â£100m deal, Â£5bn and Â§3") == "a £100m deal, £5bn and §3"


def test_text_without_that_damage_is_left_as_it_is() -> None:
    text = "Âge, Â alone, ÂA, a real £5 and café’s"
    assert repair_mojibake(text) == text
    assert repair_mojibake(repair_mojibake("Â£1")) == "£1"


def test_both_readers_of_the_bbc_corpus_give_pound_signs_and_no_mojibake() -> None:
    for articles in (read_news_articles(DATA_DIR / CORPUS_FILE), bbc_news(DATA_DIR).texts):
        assert not [article for article in articles if "Â£" in article]
        assert any("£" in article for article in articles)
