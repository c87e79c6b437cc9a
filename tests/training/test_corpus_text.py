"""The BBC corpus is read in one place, with its damaged characters repaired, so no model learns them."""

from __future__ import annotations

from tests.support.model_fixtures import DATA_DIR
from training.bbc_corpus import BBC_CORPUS, read_bbc_articles
from training.classifier.labelled_data import bbc_news
from training.corpus_text import repair_mojibake
from training.gpt2.data import read_news_articles


def test_a_pound_sign_read_once_as_latin_1_is_put_back() -> None:
    assert repair_mojibake("a Â£100m deal, Â£5bn and Â§3") == "a £100m deal, £5bn and §3"


def test_text_without_that_damage_is_left_as_it_is() -> None:
    text = "Âge, Â alone, ÂA, a real £5 and café’s"
    assert repair_mojibake(text) == text
    assert repair_mojibake(repair_mojibake("Â£1")) == "£1"


def test_the_bbc_corpus_is_read_once_for_every_model_without_repeats_or_mojibake() -> None:
    path = DATA_DIR / BBC_CORPUS
    articles = read_bbc_articles(path)
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # The corpus repeats some articles (same title, or same body under another title): each is kept once.
    assert len({a.title for a in articles}) == len({a.body for a in articles}) == len(articles) < len(lines)
    texts = [article.text for article in articles]
    assert read_news_articles(path) == texts == bbc_news(DATA_DIR).texts
    assert not [text for text in texts if "Â£" in text]
    assert any("£" in text for text in texts)
