"""Offline evaluation of the news generator on BBC articles it has never seen.

The model card's perplexity is measured on the validation articles, which also chose the training
schedule (early stopping); the test share of ``split_news`` (same seed as the model's) was never trained
on nor used to choose anything, so it is the honest figure. It is reported per GPT-2 token and in bits
per byte (see ``gpt2_heldout``) for the model as served, for its transformer alone, and for a Kneser-Ney
n-gram fitted on the same training articles and scored on exactly the same tokens (the served model's
own n-gram, when it is interpolated with one): a generator that does not clearly beat the n-gram has
learnt little beyond local word statistics.

Perplexity says nothing about what sampled text looks like, so the first test articles are also
continued from a prompt (the title and the first sentence of the body, the way a document starts in
training: ``title``, blank line, body) with the generate job's default sampling settings, and scored on:

- repetition: the share of a continuation's word 4-grams that occur more than once in it (degenerate
  loops score high);
- diversity: distinct-2, distinct word bigrams over all bigrams, pooled over every continuation;
- relevance: MiniLM cosine between a continuation and the article's real continuation, cut to the same
  number of words so that length alone does not move the figure.

The phrase-loop rules (``no_repeat_ngram_size``, ``repetition_penalty``) default to the generate job's;
their defaults were chosen with ``split="validation"`` (the held-out validation articles, the same the
model's own choices were made on) and ``samples_only`` (perplexity does not depend on them), never on test.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.jobs import DEFAULT_NO_REPEAT_NGRAM_SIZE, DEFAULT_REPETITION_PENALTY
from training.bbc_corpus import BBC_CORPUS
from training.gpt2.copy_weights import copy_scores
from training.gpt2.data import read_news_articles, split_news, to_blocks
from training.gpt2.heldout import HeldOutScore, document_windows, ngram_baseline, score, token_scores
from training.gpt2.loop import target_logprobs
from workers.knowledge.embedding import load_kb_encoder
from workers.ml.generator import TextGenerator
from workers.ml.gpt2_decoding import GenerationRequest

log = logging.getLogger(__name__)

GENERATION_BATCH = 16
SCORE_BATCH = 8
BASELINE_ORDER = 4  # for a transformer served without an n-gram of its own
NEW_TOKENS = 60
TEMPERATURE = 0.8
TOP_P = 0.95
SPLITS = ("test", "validation")
# A sentence ends at . ! or ? followed by whitespace: a space inside a paragraph, or the paragraph break
# when the first paragraph is a single sentence (as most BBC ledes are). "Mr. Smith" is cut early; rare
# enough in ledes not to matter for a prompt.
_SENTENCE_END = re.compile(r"[.!?](?=\s)")


@dataclass(frozen=True)
class DecodingRules:
    """The phrase-loop rules the continuations are sampled with (the generate job's by default)."""

    no_repeat_ngram_size: int = DEFAULT_NO_REPEAT_NGRAM_SIZE
    repetition_penalty: float = DEFAULT_REPETITION_PENALTY


@dataclass(frozen=True)
class PerplexityFigures:
    perplexity: float  # per GPT-2 token
    bits_per_byte: float

    @classmethod
    def of(cls, scored: HeldOutScore) -> PerplexityFigures:
        return cls(scored.perplexity, scored.bits_per_byte)


@dataclass
class GeneratorEvaluation:
    model: str
    version: str
    test_articles: int
    gpt2_tokens: int
    utf8_bytes: int
    generator: PerplexityFigures  # as served: the transformer, its n-gram and copying, those it has
    uncopied: PerplexityFigures | None  # as served but without copying; None: served without copying
    copy_weights: list[float] | None
    transformer: PerplexityFigures  # the transformer alone
    baseline: PerplexityFigures  # the n-gram alone
    ngram_order: int
    transformer_weight: float | None  # None: the transformer is served alone
    prompts: int
    repeated_4gram_share: float | None  # None: no continuation had four words
    distinct_2: float | None  # None: no continuation had two words
    mean_similarity: float
    seconds: float
    examples: list[dict[str, Any]] = field(default_factory=list)
    split: str = "test"  # the held-out articles scored and continued ("validation" chose the rules)
    rules: DecodingRules = field(default_factory=lambda: DecodingRules())

    @property
    def relative_difference(self) -> float:
        """How much lower (negative) or higher the generator's perplexity is than the baseline's."""
        return self.generator.perplexity / self.baseline.perplexity - 1

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "model": self.model,
            "version": self.version,
            "test_articles": self.test_articles,
            "gpt2_tokens": self.gpt2_tokens,
            "utf8_bytes": self.utf8_bytes,
            "generator_perplexity": round(self.generator.perplexity, 3),
            "generator_bits_per_byte": round(self.generator.bits_per_byte, 4),
            "uncopied_perplexity": None if self.uncopied is None else round(self.uncopied.perplexity, 3),
            "copy_weights": self.copy_weights,
            "transformer_perplexity": round(self.transformer.perplexity, 3),
            "transformer_bits_per_byte": round(self.transformer.bits_per_byte, 4),
            "transformer_weight": self.transformer_weight,
            "ngram_order": self.ngram_order,
            "baseline_perplexity": round(self.baseline.perplexity, 3),
            "baseline_bits_per_byte": round(self.baseline.bits_per_byte, 4),
            "relative_difference": round(self.relative_difference, 4),
            "prompts": self.prompts,
            "repeated_4gram_share": rounded(self.repeated_4gram_share),
            "distinct_2": rounded(self.distinct_2),
            "mean_similarity": round(self.mean_similarity, 4),
            "seconds": round(self.seconds, 1),
            "split": self.split,
            "no_repeat_ngram_size": self.rules.no_repeat_ngram_size,
            "repetition_penalty": self.rules.repetition_penalty,
        }


@dataclass(frozen=True)
class SampleFigures:
    prompts: int
    repeated_4gram_share: float | None  # None: no continuation had four words
    distinct_2: float | None  # None: no continuation had two words
    mean_similarity: float
    examples: list[dict[str, Any]]


def held_out_articles(
    data_dir: Path, generator: TextGenerator, split: str = "test"
) -> tuple[list[str], list[str]]:
    """(training, held-out) articles of the generator's own split, held-out being its ``split``
    ("test" or "validation"); refuses a generator of a user corpus, whose documents and split are not
    the BBC ones."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    if not generator.info.data.get("default_corpus", False):
        raise ValueError(
            "evaluate-generator scores the BBC test articles, and this generator "
            f"({generator.info.name} {generator.info.version}) was trained on a user corpus "
            f"({generator.info.data.get('corpus')})"
        )
    articles = read_news_articles(data_dir / BBC_CORPUS)
    train, valid, test = split_news(articles, int(generator.info.data["seed"]))
    return train, test if split == "test" else valid


def prompt_and_rest(article: str) -> tuple[str, str]:
    """The title, blank line and first sentence of the body; and the text after them."""
    title, _, body = article.partition("\n\n")
    found = _SENTENCE_END.search(body)
    cut = found.end() if found else len(body)
    return f"{title}\n\n{body[:cut]}", body[cut:]


def words(text: str) -> list[str]:
    # Lower-cased whitespace words: "The" opening a sentence and "the" inside one are the same word.
    return text.lower().split()


def repeated_ngram_share(text: str, n: int = 4) -> float | None:
    """Share of the text's word n-grams that occur more than once in it; None when it has none."""
    tokens = words(text)
    grams = [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    if not grams:
        return None
    counts = Counter(grams)
    return sum(counts[gram] > 1 for gram in grams) / len(grams)


def distinct_n(texts: Sequence[str], n: int = 2) -> float | None:
    """Distinct word n-grams over all n-grams, pooled over the texts (none spans two texts)."""
    grams = [tuple(tokens[i : i + n]) for tokens in map(words, texts) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else None


def evaluate_generator(
    data_dir: Path,
    generator: TextGenerator,
    device: str,
    prompts: int = 50,
    split: str = "test",
    rules: DecodingRules = DecodingRules(),
) -> GeneratorEvaluation:
    started = time.perf_counter()
    train_docs, test_docs = held_out_articles(data_dir, generator, split)
    tokenizer, model = generator.tokenizer, generator.model
    window = int(model.config.n_positions)

    held_out = document_windows(tokenizer, test_docs, window)
    log.info("scoring %d %s articles (%d GPT-2 tokens)", len(test_docs), split, held_out.gpt2_tokens)
    if generator.mixture is not None:
        # The served model's own n-gram, fitted on the generator's training articles, is the baseline.
        scores = token_scores(
            model, generator.mixture.ngram, held_out, SCORE_BATCH, _pad_id(generator), device
        )
        served, transformer, baseline = scores.mixed(generator.mixture.weight), scores.neural, scores.ngram
        order = generator.mixture.ngram.order
        uncopied_logp = scores.mixed_logp(generator.mixture.weight)
    else:
        # A transformer served alone (e.g. a fine-tuned Hugging Face checkpoint): the baseline is fitted on
        # every training article, so it has seen no less than the model.
        served = transformer = score(model, held_out, SCORE_BATCH, _pad_id(generator), device)
        order = BASELINE_ORDER
        baseline = ngram_baseline(to_blocks(tokenizer, train_docs, window), held_out, len(tokenizer), order)
        uncopied_logp = None
    uncopied = None
    if generator.copy is not None:
        if uncopied_logp is None:
            uncopied_logp = np.concatenate(
                target_logprobs(model, held_out.examples, SCORE_BATCH, _pad_id(generator), device)
            )
        uncopied = served
        copied = copy_scores(uncopied_logp, held_out, generator.copy.source, generator.copy.max_match)
        served = copied.mixed(generator.copy)

    samples = sample_figures(generator, test_docs[:prompts], device, rules)
    return GeneratorEvaluation(
        model=generator.info.name,
        version=generator.info.version,
        test_articles=len(test_docs),
        gpt2_tokens=held_out.gpt2_tokens,
        utf8_bytes=held_out.utf8_bytes,
        generator=PerplexityFigures.of(served),
        uncopied=None if uncopied is None else PerplexityFigures.of(uncopied),
        copy_weights=None if generator.copy is None else list(generator.copy.weights),
        transformer=PerplexityFigures.of(transformer),
        baseline=PerplexityFigures.of(baseline),
        ngram_order=order,
        transformer_weight=None if generator.mixture is None else generator.mixture.weight,
        prompts=samples.prompts,
        repeated_4gram_share=samples.repeated_4gram_share,
        distinct_2=samples.distinct_2,
        mean_similarity=samples.mean_similarity,
        seconds=time.perf_counter() - started,
        examples=samples.examples,
        split=split,
        rules=rules,
    )


def sample_figures(
    generator: TextGenerator, articles: Sequence[str], device: str, rules: DecodingRules = DecodingRules()
) -> SampleFigures:
    """Continue each article from its title and first sentence; score repetition, diversity and
    similarity to the article's real continuation."""
    split_articles = [prompt_and_rest(article) for article in articles]
    continuations = _continue(generator, [prompt for prompt, _rest in split_articles], rules)
    # The real text cut to the continuation's length in words (at least one, so an empty
    # continuation is compared with something rather than with nothing).
    references = [
        " ".join(rest.split()[: max(1, len(continuation.split()))])
        for (_prompt, rest), continuation in zip(split_articles, continuations, strict=True)
    ]
    encoder = load_kb_encoder(device)
    similarity = (
        np.sum(encoder.encode(continuations) * encoder.encode(references), axis=1)
        if articles
        else np.zeros(0, dtype=np.float32)
    )
    repetition = [repeated_ngram_share(text) for text in continuations]
    measured = [share for share in repetition if share is not None]
    examples = [
        {
            "prompt": prompt,
            "continuation": continuation,
            "reference": reference,
            "repeated_4gram_share": None if share is None else round(share, 4),
            "similarity": round(float(cosine), 4),
        }
        for (prompt, _rest), continuation, reference, share, cosine in zip(
            split_articles, continuations, references, repetition, similarity, strict=True
        )
    ]
    return SampleFigures(
        prompts=len(articles),
        repeated_4gram_share=float(np.mean(measured)) if measured else None,
        distinct_2=distinct_n(continuations),
        mean_similarity=float(np.mean(similarity)) if articles else math.nan,
        examples=examples,
    )


def _continue(generator: TextGenerator, prompts: Sequence[str], rules: DecodingRules) -> list[str]:
    continuations: list[str] = []
    for start in range(0, len(prompts), GENERATION_BATCH):
        requests = [
            GenerationRequest(
                prompt,
                max_new_tokens=NEW_TOKENS,
                temperature=TEMPERATURE,
                top_p=TOP_P,
                seed=start + i,
                no_repeat_ngram_size=rules.no_repeat_ngram_size,
                repetition_penalty=rules.repetition_penalty,
            )
            for i, prompt in enumerate(prompts[start : start + GENERATION_BATCH])
        ]
        log.info("continuing prompts %d-%d of %d", start + 1, start + len(requests), len(prompts))
        continuations.extend(texts[0] for texts in generator.generate_batch(requests))
    return continuations


def _pad_id(generator: TextGenerator) -> int:
    # Padding is masked out of the loss, so any id does; GPT-2 tokenizers often have no pad token.
    pad = generator.tokenizer.pad_token_id
    return int(generator.tokenizer.eos_token_id if pad is None else pad)
