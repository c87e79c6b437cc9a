"""What a periodic report says in words: the words negative items use most, and a short summary
written from the report's figures.

The summary is data-to-text, not GPT-2: every number and word in it comes from the stored figures and
items, so it cannot state anything the data does not hold. The GPT-2 trained here writes fluent
nonsense (see the replies evaluation), which a report read by a team must never carry.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from db.trends import SentimentMix

KEY_TERMS = 3
# A word must come up in at least this many negative items to be a key term, so one angry thread
# repeating itself does not set the period's theme.
KEY_TERM_MIN_ITEMS = 2
_WORD = re.compile(r"[a-z][a-z'’]+[a-z]")
_NOISE = re.compile(r"https?://\S+|[@#]\w+|&\w+;")
# Words a complaint about anything uses; they say nothing about what went wrong.
_GENERIC = frozenset(
    (  # noqa: SIM905 (a word list reads better as text)
        "just like get got don't can't i'm it's amp really still thanks thank "
        "please need want know going today time day hours hour make made way help"
    ).split()
)


def key_terms(texts: Iterable[str], topic: str, limit: int = KEY_TERMS) -> list[str]:
    """The words most of the ``texts`` (a period's negative items) use, leaving out stop words, the
    topic's own name, mentions, hashtags and links. Counted once per item."""
    left_out = ENGLISH_STOP_WORDS | _GENERIC | set(_WORD.findall(topic.lower()))
    items_using: Counter[str] = Counter()
    for text in texts:
        words = set(_WORD.findall(_NOISE.sub(" ", text.lower()))) - left_out
        items_using.update(word for word in words if len(word) > 3)
    ranked = sorted(items_using.items(), key=lambda pair: (-pair[1], pair[0]))
    return [word for word, count in ranked[:limit] if count >= KEY_TERM_MIN_ITEMS]


def summary(
    topic: str, mix: SentimentMix, previous: SentimentMix | None, alerts_raised: int, terms: list[str]
) -> str:
    """Two to four sentences a reader can act on: how much, how negative, what changed, what about."""
    sentences = [
        f"{mix.volume} item{'s' if mix.volume != 1 else ''} on {topic}: "
        f"{_percent(mix.negatives, mix.volume)} negative, {_percent(mix.neutrals, mix.volume)} neutral, "
        f"{_percent(mix.positives, mix.volume)} positive (mean score {mix.mean_score:+.2f})."
    ]
    if previous is None or previous.volume == 0:
        sentences.append("Nothing arrived in the period before.")
    else:
        points = round(100 * (mix.negative_share - previous.negative_share))
        trend = "unchanged" if points == 0 else f"{'up' if points > 0 else 'down'} {abs(points)} points"
        sentences.append(
            f"Negative share {trend} on the period before "
            f"({_percent(previous.negatives, previous.volume)} of {previous.volume}); "
            f"volume {_change(mix.volume, previous.volume)}."
        )
    if alerts_raised:
        sentences.append(f"{alerts_raised} spike alert{'s' if alerts_raised != 1 else ''} raised.")
    if terms:
        sentences.append(f"Negative items mention most: {', '.join(terms)}.")
    return " ".join(sentences)


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole) if whole else 0}%"


def _change(now: int, before: int) -> str:
    if now == before:
        return "unchanged"
    ratio = now / before
    if ratio >= 2:
        return f"{ratio:.1f}× as high"
    return f"{'up' if now > before else 'down'} {abs(round(100 * (ratio - 1)))}%"
