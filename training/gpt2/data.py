"""Training data for the GPT-2 models: reading the corpora, seeded splits, and token examples.

The splits of the shared data use fixed fractions and only the run's seed, so pre-training and the
fine-tunes built with the same seed hold out the same articles and the same customer-support pairs:
a fine-tune's validation and test perplexities are then measured on text its base never trained on.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from transformers import PreTrainedTokenizerBase

from training.bbc_corpus import BBC_CORPUS, read_bbc_articles
from workers.ml.reply_prompt import REPLY_SEPARATOR, ReplyTemplate, reply_token_budget

SUPPORT_FILE = "customer_support/bitext_train.csv"

NEWS_VALID_FRACTION = 0.05  # ~106 of 2,127 articles: early stopping and the model cards
NEWS_TEST_FRACTION = 0.05  # another ~106, never trained on or used to choose anything
SUPPORT_VALID_FRACTION = 0.10  # ~406 of 4,061 pairs, stratified by intent
SUPPORT_TEST_FRACTION = 0.10

LICENCES = {
    BBC_CORPUS: "BBC news corpus (Greene & Cunningham 2006), research use",
    SUPPORT_FILE: "Bitext customer-support data, CDLA-Sharing-1.0",
}

IGNORE_INDEX = -100  # label value the loss skips (PyTorch's cross-entropy default)

_QUESTION_FIELDS = ("question", "instruction")
_REPLY_FIELDS = ("reply", "response", "reference")


@dataclass(frozen=True)
class SupportPair:
    question: str
    reply: str
    intent: str
    category: str


@dataclass(frozen=True)
class SupportSplit:
    train: list[SupportPair]
    valid: list[SupportPair]
    test: list[SupportPair]


@dataclass(frozen=True)
class LmExample:
    """One training or evaluation sequence; ``labels`` is IGNORE_INDEX where no loss is taken."""

    input_ids: list[int]
    labels: list[int]


# --- reading -------------------------------------------------------------------------------------


def read_news_articles(path: Path) -> list[str]:
    """The BBC articles as documents: "title, blank line, body" (``training/bbc_corpus.py``)."""
    return [article.text for article in read_bbc_articles(path)]


def read_text_corpus(path: Path) -> list[str]:
    """A user's corpus: ``.jsonl`` with a string ``"text"`` per line, or ``.txt`` with documents
    separated by blank lines. Empty documents are dropped."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"corpus file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        documents = _read_jsonl_texts(path)
    elif suffix == ".txt":
        documents = _split_paragraphs(path.read_text(encoding="utf-8"))
    else:
        raise ValueError(
            f"unsupported corpus format {suffix or '(no extension)'!r} for {path.name}: use .jsonl with a "
            '"text" field per line, or .txt with documents separated by blank lines'
        )
    documents = [doc.strip() for doc in documents if doc.strip()]
    if len(documents) < 2:
        raise ValueError(
            f"corpus {path} holds {len(documents)} document(s); at least 2 are needed to hold one out"
        )
    return documents


def read_support_pairs(path: Path) -> list[SupportPair]:
    """The Bitext customer-support data: columns instruction, intent, category, response."""
    with Path(path).open(encoding="utf-8", newline="") as handle:
        return [
            SupportPair(row["instruction"], row["response"], row["intent"], row["category"])
            for row in csv.DictReader(handle)
        ]


def read_extra_pairs(path: Path) -> list[SupportPair]:
    """Extra (question, reply) pairs, e.g. from user feedback: CSV with a header, or JSON lines.

    Fields: ``question`` (or ``instruction``) and ``reply`` (or ``response``, ``reference``), and
    ``intent`` where known; others are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"extra pairs file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as handle:
            records: list[object] = list(csv.DictReader(handle))
    elif suffix == ".jsonl":
        records = [record for _, record in _read_jsonl_records(path)]
    else:
        raise ValueError(f"unsupported extra pairs format {suffix!r} for {path.name}: use .csv or .jsonl")
    pairs = [_extra_pair(record, path, number) for number, record in enumerate(records, start=1)]
    if not pairs:
        raise ValueError(f"extra pairs file {path} holds no pairs")
    return pairs


# --- splitting -----------------------------------------------------------------------------------


def split_documents(
    documents: Sequence[str], seed: int, valid_fraction: float, test_fraction: float = 0.0
) -> tuple[list[str], list[str], list[str]]:
    """(train, valid, test): seeded random shares of whole documents are held out (valid: at least one;
    test: none when ``test_fraction`` is 0, as for a user's corpus, which may be only a few documents)."""
    order = np.random.default_rng(seed).permutation(len(documents))
    n_valid = min(len(documents) - 1, max(1, round(valid_fraction * len(documents))))
    n_test = min(len(documents) - 1 - n_valid, round(test_fraction * len(documents)))
    if test_fraction > 0 and n_test < 1:
        raise ValueError(f"{len(documents)} documents are too few to hold out a test part as well")
    parts = order[n_valid + n_test :], order[:n_valid], order[n_valid : n_valid + n_test]
    return tuple([documents[i] for i in part] for part in parts)  # type: ignore[return-value]


def split_news(articles: Sequence[str], seed: int) -> tuple[list[str], list[str], list[str]]:
    """The one split of the news articles that pre-training, the generator and its evaluation share
    (the reader has dropped the corpus's repeated articles, so no held-out article is also trained on)."""
    return split_documents(articles, seed, NEWS_VALID_FRACTION, NEWS_TEST_FRACTION)


def split_support_pairs(pairs: Sequence[SupportPair], seed: int) -> SupportSplit:
    """Train / validation / test, each stratified by intent (every intent in every split)."""
    intents = [pair.intent for pair in pairs]
    everything = list(range(len(pairs)))
    held_share = SUPPORT_VALID_FRACTION + SUPPORT_TEST_FRACTION
    train, held = train_test_split(everything, test_size=held_share, stratify=intents, random_state=seed)
    valid, test = train_test_split(
        held,
        test_size=SUPPORT_TEST_FRACTION / held_share,
        stratify=[intents[i] for i in held],
        random_state=seed,
    )
    return SupportSplit(*([pairs[i] for i in sorted(part)] for part in (train, valid, test)))


def sample_pairs(pairs: Sequence[SupportPair], size: int | None, seed: int) -> list[SupportPair]:
    """A seeded sample that takes the intents in turn (all pairs when size is None or too big).

    Round-robin rather than proportional: it works for samples smaller than the number of intents, and
    the data's intents are nearly balanced anyway (125-160 pairs each). The first pairs of the sample
    therefore all have different intents.
    """
    if size is None or size >= len(pairs):
        return list(pairs)
    by_intent: dict[str, list[SupportPair]] = {}
    for i in np.random.default_rng(seed).permutation(len(pairs)):
        by_intent.setdefault(pairs[i].intent, []).append(pairs[i])
    groups = [by_intent[intent] for intent in sorted(by_intent)]
    turns = (group[turn] for turn in range(max(map(len, groups))) for group in groups if turn < len(group))
    return list(islice(turns, size))


# --- token examples ------------------------------------------------------------------------------


def to_blocks(
    tokenizer: PreTrainedTokenizerBase, documents: Iterable[str], block_size: int
) -> list[LmExample]:
    """One token stream with <|endoftext|> after every document, cut into blocks of ``block_size``.

    Every token is a target, the end-of-text markers included: the model learns where documents end.
    The last block is shorter unless the stream divides evenly, so even a small corpus gives a block.
    """
    eos = _eos_id(tokenizer)
    stream: list[int] = []
    # verbose=False: documents longer than the model's context are expected here, they are cut below.
    for ids in tokenizer(list(documents), verbose=False)["input_ids"]:
        stream.extend(ids)
        stream.append(eos)
    blocks = [stream[start : start + block_size] for start in range(0, len(stream), block_size)]
    # A one-token block has nothing to predict (each token is predicted from the ones before it).
    return [LmExample(block, block) for block in blocks if len(block) > 1]


def reply_example(
    tokenizer: PreTrainedTokenizerBase,
    template: ReplyTemplate,
    pair: SupportPair,
    max_length: int,
    context: Sequence[str] = (),
) -> LmExample:
    """Prompt + reply + <|endoftext|>, with the loss on the reply tokens (and end-of-text) only.

    The example is laid out as serving lays out a request in a ``max_length`` context: the reply gets
    ``reply_token_budget`` tokens and loses its end beyond them; the prompt gets the rest, holding as
    many of the ``context`` answers (best first) as fit, and a question that alone overflows keeps its
    end.
    """
    reply_budget = reply_token_budget(max_length)
    prompt_budget = max_length - reply_budget

    def count(text: str) -> int:
        return len(tokenizer(text, verbose=False)["input_ids"])

    prompt = template.fit(pair.question, (), context, count, prompt_budget)
    prompt_ids = tokenizer(prompt, verbose=False)["input_ids"][-prompt_budget:]
    reply_ids = tokenizer(REPLY_SEPARATOR + pair.reply.strip(), verbose=False)["input_ids"]
    reply_ids = [*reply_ids, _eos_id(tokenizer)][:reply_budget]
    return LmExample(prompt_ids + reply_ids, [IGNORE_INDEX] * len(prompt_ids) + reply_ids)


def interleave(*groups: Sequence[LmExample]) -> list[LmExample]:
    """Round-robin merge, so a prefix of the result takes from every group evenly."""
    merged: list[LmExample] = []
    for position in range(max((len(group) for group in groups), default=0)):
        merged.extend(group[position] for group in groups if position < len(group))
    return merged


# --- helpers -------------------------------------------------------------------------------------


def _eos_id(tokenizer: PreTrainedTokenizerBase) -> int:
    if tokenizer.eos_token_id is None:
        raise ValueError("the tokenizer has no end-of-text token")
    return int(tokenizer.eos_token_id)


def _split_paragraphs(text: str) -> list[str]:
    documents, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line)
        elif current:
            documents.append("\n".join(current))
            current = []
    if current:
        documents.append("\n".join(current))
    return documents


def _read_jsonl_records(path: Path) -> list[tuple[int, object]]:
    """(line number, parsed value) for every non-blank line."""
    records = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                records.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name} line {number} is not valid JSON: {exc.msg}") from exc
    return records


def _read_jsonl_texts(path: Path) -> list[str]:
    texts = []
    for number, record in _read_jsonl_records(path):
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ValueError(f'{path.name} line {number} is not a JSON object with a string "text" field')
        texts.append(record["text"])
    return texts


def _extra_pair(record: object, path: Path, number: int) -> SupportPair:
    if isinstance(record, dict):
        question = next((record[f] for f in _QUESTION_FIELDS if isinstance(record.get(f), str)), None)
        reply = next((record[f] for f in _REPLY_FIELDS if isinstance(record.get(f), str)), None)
        if question and question.strip() and reply and reply.strip():
            return SupportPair(question, reply, str(record.get("intent") or "extra"), "EXTRA")
    raise ValueError(
        f"{path.name} record {number} needs non-empty text fields question (or instruction) and reply "
        "(or response, reference)"
    )
