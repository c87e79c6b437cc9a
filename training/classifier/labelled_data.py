"""Labelled text sets, read from ``../shared/data`` with every label mapped explicitly.

Each reader returns a :class:`LabelledTexts`; a label the mapping does not know is an error, never a
silent drop, so a changed upstream file cannot quietly shrink or skew a training set.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from training.bbc_corpus import BBC_CORPUS, read_bbc_articles

# Sentiment sets, each mapped onto negative / neutral / positive.
FINANCIAL_PHRASEBANK = "sentiment/financial_phrasebank/train.csv"
FINANCE_TWEETS_TRAIN = "sentiment/twitter_financial_news/sent_train.csv"
FINANCE_TWEETS_VALID = "sentiment/twitter_financial_news/sent_valid.csv"
SST2_TRAIN = "sentiment/sst2/train.tsv"
SST2_DEV = "sentiment/sst2/dev.tsv"
AIRLINE_TWEETS = "streams/airline_tweets.csv"
# Intent sets.
BANKING77 = "intents/banking77/train.csv"
CLINC150 = "intents/clinc150/data_full_train_val.json"
CUSTOMER_SUPPORT = "customer_support/bitext_train.csv"
# Topic sets.

PHRASEBANK_LABELS = {"negative": "negative", "neutral": "neutral", "positive": "positive"}
FINANCE_TWEET_LABELS = {"0": "negative", "1": "positive", "2": "neutral"}  # bearish, bullish, neutral
SST2_LABELS = {"0": "negative", "1": "positive"}  # SST-2 has no neutral class
AIRLINE_LABELS = {"negative": "negative", "neutral": "neutral", "positive": "positive"}
BBC_TOPICS = {topic: topic for topic in ("business", "entertainment", "politics", "sports", "tech")}
# CLINC150 marks out-of-scope queries "oos"; the product calls that label this.
OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]
    source: str  # file(s) it came from, for model cards

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{self.source}: {len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(self.labels).items()))

    def subset(self, indices: list[int]) -> LabelledTexts:
        return LabelledTexts([self.texts[i] for i in indices], [self.labels[i] for i in indices], self.source)

    def __add__(self, other: LabelledTexts) -> LabelledTexts:
        return LabelledTexts(
            self.texts + other.texts, self.labels + other.labels, f"{self.source} + {other.source}"
        )


def _map_label(raw: str, mapping: Mapping[str, str], where: str) -> str:
    try:
        return mapping[raw.strip()]
    except KeyError:
        raise ValueError(f"{where}: unknown label {raw!r}; expected one of {sorted(mapping)}") from None


def _read_table(
    path: Path, text_column: str, label_column: str, mapping: Mapping[str, str] | None, delimiter: str = ","
) -> LabelledTexts:
    texts, labels = [], []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        missing = {text_column, label_column} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            text = (row[text_column] or "").strip()
            if not text:
                raise ValueError(f"{path}:{line}: empty text")
            raw = row[label_column] or ""
            labels.append(raw.strip() if mapping is None else _map_label(raw, mapping, f"{path}:{line}"))
            texts.append(text)
    return LabelledTexts(texts, labels, str(path))


def financial_phrasebank(data_dir: Path) -> LabelledTexts:
    return _read_table(data_dir / FINANCIAL_PHRASEBANK, "text", "label", PHRASEBANK_LABELS)


def finance_tweets(data_dir: Path, split: str = "train") -> LabelledTexts:
    relative = {"train": FINANCE_TWEETS_TRAIN, "valid": FINANCE_TWEETS_VALID}[split]
    return _read_table(data_dir / relative, "text", "label", FINANCE_TWEET_LABELS)


def sst2(data_dir: Path, split: str = "train") -> LabelledTexts:
    relative = {"train": SST2_TRAIN, "dev": SST2_DEV}[split]
    return _read_table(data_dir / relative, "sentence", "label", SST2_LABELS, delimiter="\t")


def airline_tweets(data_dir: Path) -> LabelledTexts:
    return _read_table(data_dir / AIRLINE_TWEETS, "text", "airline_sentiment", AIRLINE_LABELS)


def banking77(data_dir: Path) -> LabelledTexts:
    return _read_table(data_dir / BANKING77, "text", "category", None)


def customer_support_intents(data_dir: Path) -> LabelledTexts:
    return _read_table(data_dir / CUSTOMER_SUPPORT, "instruction", "intent", None)


def clinc150(
    data_dir: Path, parts: tuple[str, ...] = ("train", "val", "oos_train", "oos_val")
) -> LabelledTexts:
    """CLINC150 ("full" variant); its ``oos`` label becomes :data:`OUT_OF_SCOPE`."""
    path = data_dir / CLINC150
    raw = json.loads(path.read_text(encoding="utf-8"))
    texts, labels = [], []
    for part in parts:
        if part not in raw:
            raise ValueError(f"{path}: no part {part!r}; it has {sorted(raw)}")
        for text, intent in raw[part]:
            texts.append(text)
            labels.append(OUT_OF_SCOPE if intent == "oos" else intent)
    return LabelledTexts(texts, labels, f"{path} ({', '.join(parts)})")


def bbc_news(data_dir: Path) -> LabelledTexts:
    """BBC articles by topic, each as its title, a blank line, then its body (``news_views.py`` cuts
    the title and lead back out); repeats dropped and mojibake repaired (``training/bbc_corpus.py``)."""
    path = data_dir / BBC_CORPUS
    articles = read_bbc_articles(path)
    labels = [_map_label(article.topic, BBC_TOPICS, article.where) for article in articles]
    return LabelledTexts([article.text for article in articles], labels, str(path))


def read_labelled_file(path: Path, text_column: str = "text", label_column: str = "label") -> LabelledTexts:
    """Any labelled file a user brings to ``evaluate``: CSV, TSV or JSON lines, labels taken as written."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        return _read_table(path, text_column, label_column, None, delimiter="\t" if suffix == ".tsv" else ",")
    if suffix in {".jsonl", ".json"}:
        texts, labels = [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict) or text_column not in record or label_column not in record:
                raise ValueError(
                    f"{path}:{number}: expected an object with {text_column!r} and {label_column!r}"
                )
            texts.append(str(record[text_column]))
            labels.append(str(record[label_column]))
        return LabelledTexts(texts, labels, str(path))
    raise ValueError(f"{path}: unsupported format {suffix!r}; use .csv, .tsv or .jsonl")


# Named sets for ``evaluate`` and the training recipes: name -> reader of the whole file.
NAMED_SETS: dict[str, Callable[[Path], LabelledTexts]] = {
    "financial-phrasebank": financial_phrasebank,
    "finance-tweets": finance_tweets,
    "finance-tweets-valid": lambda data_dir: finance_tweets(data_dir, "valid"),
    "sst2": sst2,
    "sst2-dev": lambda data_dir: sst2(data_dir, "dev"),
    "airline-tweets": airline_tweets,
    "banking77": banking77,
    "clinc150": clinc150,
    "customer-support": customer_support_intents,
    "bbc-news": bbc_news,
    "bbc-news-titles": lambda data_dir: titles_of(bbc_news(data_dir)),
}


def titles_of(articles: LabelledTexts) -> LabelledTexts:
    """Each article's title alone: what a headline stream sends."""
    return LabelledTexts(
        [text.split("\n\n", 1)[0] for text in articles.texts], articles.labels, f"{articles.source} (titles)"
    )
