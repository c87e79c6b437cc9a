"""The topic classifier's data: BBC articles split once, then shown in the shapes a stream sends.

Streams send headlines and tweets, not 400-word articles, so the model is trained on three views of
each training article (its title, its title and first sentence, the article itself) and chosen and
calibrated on the short views of the validation articles. The split is by article, so no view of a
held-out article is ever trained on; the test split is reported whole (``bbc-news``) and title-only
(``bbc-news-titles``).
"""

from __future__ import annotations

import re
from pathlib import Path

from training.classifier.labelled_data import LabelledTexts, bbc_news, titles_of
from training.splits import Splits, SplitSpec, split

# The end of the first sentence: a full stop, question or exclamation mark before a space or line.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def leads_of(articles: LabelledTexts) -> LabelledTexts:
    """Each article's title and first sentence: what a headline with its description looks like."""
    leads = []
    for text in articles.texts:
        title, _, body = text.partition("\n\n")
        first = _SENTENCE_END.split(body.strip(), maxsplit=1)[0]
        leads.append(f"{title}. {first}")
    return LabelledTexts(leads, articles.labels, f"{articles.source} (title and first sentence)")


def bbc_topic_splits(data_dir: Path, spec: SplitSpec) -> Splits:
    articles = split(bbc_news(data_dir), spec)
    return Splits(
        train=articles.train + titles_of(articles.train) + leads_of(articles.train),
        valid=titles_of(articles.valid) + leads_of(articles.valid),
        test=articles.test,
    )
