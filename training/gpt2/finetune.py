"""Fine-tune a GPT-2 base into the text generator (any corpus) or the reply model (question -> reply).

The base is a queuebot ``gpt2-base`` folder or, in production, any Hugging Face name or path such as
``gpt2``. Each build writes a complete model folder (model + tokenizer, ``queuebot.json``, card) into
``out_dir`` and returns its ``ModelInfo``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from training.bbc_corpus import BBC_CORPUS
from training.gpt2 import cards as gpt2_cards
from training.gpt2.artifacts import fit_summary, sample_continuations, save_model_folder
from training.gpt2.base import BASE_KIND, BaseModel, load_base
from training.gpt2.copy_weights import choose_copy, copy_scores, transformer_copy_scores
from training.gpt2.data import (
    LICENCES,
    NEWS_TEST_FRACTION,
    NEWS_VALID_FRACTION,
    SUPPORT_FILE,
    SUPPORT_TEST_FRACTION,
    SUPPORT_VALID_FRACTION,
    LmExample,
    SupportPair,
    read_extra_pairs,
    read_news_articles,
    read_support_pairs,
    read_text_corpus,
    reply_example,
    sample_pairs,
    split_documents,
    split_news,
    split_support_pairs,
    to_blocks,
)
from training.gpt2.heldout import document_windows, ngram_baseline, score, targets_text
from training.gpt2.loop import fit
from training.gpt2.mixture import fit_mixture
from training.gpt2.profiles import get_gpt2_profile
from training.model_card import count_parameters, new_info
from training.replies.context import AnswerRetriever
from training.replies.feedback_pairs import FeedbackPairs
from training.seeding import seed_everything
from workers.ml.copy_mixture import INFO_KEY as COPY_INFO_KEY
from workers.ml.copy_mixture import CopySource
from workers.ml.device import resolve_device
from workers.ml.generator import GENERATOR_KIND, REPLIES_KIND, TextGenerator
from workers.ml.info import ModelInfo
from workers.ml.ngram_mixture import INFO_KEY as MIXTURE_INFO_KEY
from workers.ml.reply_prompt import ReplyTemplate

log = logging.getLogger(__name__)

GENERATOR_DATA_FILES = (BBC_CORPUS,)  # with the default corpus
REPLIES_DATA_FILES = (SUPPORT_FILE,)
NEWS_PROMPTS = ("The government said", "Shares in the company")


def finetune_generator(
    data_dir: Path,
    out_dir: Path,
    profile: str,
    device: str,
    seed: int = 0,
    *,
    base: str | Path,
    corpus: Path | None = None,
) -> ModelInfo:
    """Fine-tune ``base`` as a causal LM on a corpus: by default the BBC articles (title and body).

    ``corpus`` may name a ``.jsonl`` file with a ``"text"`` field per line, or a ``.txt`` file with
    documents separated by blank lines. A seeded 5 % of the documents is held out for validation; the
    card reports validation perplexity before and after.
    """
    recipe = get_gpt2_profile(profile)
    config, ngram_order = recipe.generator, recipe.ngram_order
    device = resolve_device(device)
    seed_everything(seed)

    if corpus is None:
        corpus_name = BBC_CORPUS
        train_docs, valid_docs, _test = split_news(read_news_articles(Path(data_dir) / BBC_CORPUS), seed)
    else:
        corpus_name = Path(corpus).name
        train_docs, valid_docs, _test = split_documents(read_text_corpus(corpus), seed, NEWS_VALID_FRACTION)
    train_docs = train_docs[: config.max_train_documents]  # already in a seeded random order

    loaded = load_base(base, device)
    tokenizer = loaded.tokenizer
    block_size = min(config.block_size, loaded.context_size)
    train_blocks = to_blocks(tokenizer, train_docs, block_size)
    valid_blocks = to_blocks(tokenizer, valid_docs, block_size)[: config.max_valid_blocks]
    # Scored as served: each token from up to a whole context of the text before it.
    held_out = document_windows(tokenizer, valid_docs, loaded.context_size)
    pad_id = tokenizer.pad_token_id
    before = score(loaded.model, held_out, config.schedule.batch_size, pad_id, device)
    log.info(
        "generator: %d training documents (%d blocks of %d tokens), %d held out (%d blocks scored)",
        len(train_docs),
        len(train_blocks),
        block_size,
        len(valid_docs),
        len(valid_blocks),
    )
    result = fit(
        loaded.model,
        train_blocks,
        valid_blocks,
        config.schedule,
        pad_id=pad_id,
        device=device,
        seed=seed,
        name="generator fine-tuning",
        evaluate_first=True,
        spread_positions=True,
    )
    assert result.initial_valid_loss is not None  # evaluate_first
    fitted = fit_mixture(
        loaded.model,
        train_blocks,
        held_out,
        len(tokenizer),
        ngram_order,
        config.schedule.batch_size,
        pad_id,
        device,
    )
    # An article repeats its own names and phrases, which a small model keeps poorly: copying from the
    # text so far, on top of the interpolation, its weights chosen on the same validation articles.
    valid_copy = copy_scores(
        fitted.valid.mixed_logp(fitted.mixture.weight), held_out, CopySource.TEXT, config.copy_match
    )
    copy = choose_copy(valid_copy, config.copy_match)

    info = new_info(
        name=GENERATOR_KIND,
        kind=GENERATOR_KIND,
        profile=profile,
        base=loaded.describe(),
        parameters=count_parameters(loaded.model),
        device=device,
        data={
            "base": loaded.data(),
            "corpus": corpus_name,
            "default_corpus": corpus is None,
            "seed": seed,
            "train_documents": len(train_docs),
            "valid_documents": len(valid_docs),
            "block_size": block_size,
            "train_tokens_available": sum(len(block.input_ids) for block in train_blocks),
            "valid_tokens_scored": held_out.model_tokens,
            "valid_gpt2_tokens": held_out.gpt2_tokens,
            "split": (
                f"seeded (seed {seed}): random {NEWS_VALID_FRACTION:.0%} (validation) and "
                f"{NEWS_TEST_FRACTION:.0%} (test, for `queuebot evaluate-generator`) shares of the articles, "
                "as for the base"
                if corpus is None
                else f"a seeded random {NEWS_VALID_FRACTION:.0%} of the documents (seed {seed})"
            ),
            **fit_summary(result),
            **({"licences": [LICENCES[BBC_CORPUS]]} if corpus is None else {}),
        },
    )
    info.training_seconds = round(result.seconds, 2)
    info.data[MIXTURE_INFO_KEY] = fitted.mixture.to_data()
    info.data[COPY_INFO_KEY] = copy.to_data()
    info.metrics = {
        "val_loss_before": round(result.initial_valid_loss, 4),
        "val_perplexity_before": round(before.perplexity, 2),
        "val_loss": round(result.best_valid_loss, 4),
        **fitted.figures(fitted.valid, "val"),
        # As served, copying included; the interpolation without it beside.
        **valid_copy.base.as_metrics("val_uncopied", counts=False),
        **valid_copy.mixed(copy).as_metrics("val"),
        "train_loss_end": round(result.train_loss_end, 4),
    }
    log.info("generator: metrics %s after %.1f s", info.metrics, result.seconds)
    prompts = NEWS_PROMPTS if corpus is None else [_opening(doc) for doc in valid_docs[:2]]
    save_model_folder(out_dir, loaded.model, tokenizer, info)
    fitted.mixture.save(out_dir)
    samples = sample_continuations(loaded.model, tokenizer, info, prompts, seed, fitted.mixture, copy)
    gpt2_cards.write_generator_card(
        out_dir, info, config.schedule, result, samples, loaded, _overlap_note(loaded, seed, corpus is None)
    )
    return info


def finetune_replies(
    data_dir: Path,
    out_dir: Path,
    profile: str,
    device: str,
    seed: int = 0,
    *,
    base: str | Path,
    extra_pairs: Path | None = None,
    feedback: FeedbackPairs | None = None,
) -> ModelInfo:
    """Fine-tune ``base`` to answer customer questions: question -> agent reply pairs from the Bitext data.

    Each example is the prompt template filled with the question, then the reply and <|endoftext|>; the
    loss is taken on the reply tokens only. The pairs are split train / validation / test stratified by
    intent (seeded); ``extra_pairs`` (CSV or JSON lines with question and reply) and ``feedback`` (the
    up-voted replies of feedback exports, see ``feedback_pairs``) join the training part only, so the
    held-out figures stay comparable with a build without them.
    """
    recipe = get_gpt2_profile(profile)
    config, ngram_order = recipe.replies, recipe.ngram_order
    device = resolve_device(device)
    seed_everything(seed)

    split = split_support_pairs(read_support_pairs(Path(data_dir) / SUPPORT_FILE), seed)
    extra = read_extra_pairs(extra_pairs) if extra_pairs is not None else []
    voted = feedback.pairs if feedback is not None else []
    train_pairs = sample_pairs(split.train, config.max_train_pairs, seed) + extra + voted
    valid_pairs = sample_pairs(split.valid, config.max_eval_pairs, seed)
    test_pairs = sample_pairs(split.test, config.max_eval_pairs, seed)

    loaded = load_base(base, device)
    tokenizer = loaded.tokenizer
    template = ReplyTemplate()
    max_length = min(config.max_length, loaded.context_size)
    # Extra and feedback pairs are retrieved from too: a knowledge base would hold them.
    retriever = AnswerRetriever(train_pairs, device)
    k = config.context_answers

    def examples(pairs: Sequence[SupportPair], contexts: Sequence[Sequence[str]]) -> list[LmExample]:
        return [
            reply_example(tokenizer, template, pair, max_length, context)
            for pair, context in zip(pairs, contexts, strict=True)
        ]

    train = examples(train_pairs, retriever.for_pool(k))
    valid = examples(valid_pairs, retriever.for_questions([pair.question for pair in valid_pairs], k))
    test_contexts = retriever.for_questions([pair.question for pair in test_pairs], k)
    test = examples(test_pairs, test_contexts)
    held_valid, held_test = targets_text(tokenizer, valid), targets_text(tokenizer, test)
    log.info(
        "replies: %d training pairs (%d extra, %d from feedback), %d validation and %d test pairs scored, "
        "max %d tokens",
        len(train),
        len(extra),
        len(voted),
        len(valid),
        len(test),
        max_length,
    )
    pad_id = tokenizer.pad_token_id
    batch = config.schedule.batch_size
    before = score(loaded.model, held_valid, batch, pad_id, device)
    result = fit(
        loaded.model,
        train,
        valid,
        config.schedule,
        pad_id=pad_id,
        device=device,
        seed=seed,
        name="replies fine-tuning",
        evaluate_first=True,
    )
    assert result.initial_valid_loss is not None  # evaluate_first
    # Served with copying from its prompt, not with the n-gram: an n-gram knows nothing of the question
    # or the approved answers in the prompt, and mixed in it pulls replies away from them
    # (docs/benchmarks.md). It stays the baseline.
    valid_copy, test_copy = (
        transformer_copy_scores(
            loaded.model, held, CopySource.PROMPT, config.copy_match, batch, pad_id, device
        )
        for held in (held_valid, held_test)
    )
    copy = choose_copy(valid_copy, config.copy_match)
    after, test_score = valid_copy.mixed(copy), test_copy.mixed(copy)
    baseline_valid = ngram_baseline(train, held_valid, len(tokenizer), ngram_order)
    baseline_test = ngram_baseline(train, held_test, len(tokenizer), ngram_order)
    # The template puts context lines first: an example that starts with one kept an answer.
    with_context = sum(tokenizer.decode(example.input_ids[:8]).startswith("Context:") for example in train)

    info = new_info(
        name=REPLIES_KIND,
        kind=REPLIES_KIND,
        profile=profile,
        base=loaded.describe(),
        parameters=count_parameters(loaded.model),
        device=device,
        data={
            "base": loaded.data(),
            **template.to_data(),
            "corpus_file": SUPPORT_FILE,
            "seed": seed,
            "train_pairs": len(train_pairs),
            "train_pairs_available": len(split.train),
            "extra_pairs": len(extra),
            "extra_pairs_file": Path(extra_pairs).name if extra_pairs is not None else None,
            "feedback": feedback.to_data() if feedback is not None else None,
            "valid_pairs": len(split.valid),
            "valid_pairs_scored": len(valid_pairs),
            "test_pairs": len(split.test),
            "test_pairs_scored": len(test_pairs),
            "max_length": max_length,
            "context_answers": k,
            "train_examples_with_context": with_context,
            "split": (
                f"seeded (seed {seed}), stratified by intent: "
                f"{1 - SUPPORT_VALID_FRACTION - SUPPORT_TEST_FRACTION:.0%} train / "
                f"{SUPPORT_VALID_FRACTION:.0%} validation / {SUPPORT_TEST_FRACTION:.0%} test; perplexities "
                "are scored on intent-balanced samples of the validation and test parts"
            ),
            **fit_summary(result),
            "licences": [LICENCES[SUPPORT_FILE]],
        },
    )
    info.training_seconds = round(result.seconds, 2)
    info.data["ngram_order"] = ngram_order
    info.data[COPY_INFO_KEY] = copy.to_data()
    info.metrics = {
        "val_loss_before": round(result.initial_valid_loss, 4),
        "val_perplexity_before": round(before.perplexity, 2),
        "val_loss": round(result.best_valid_loss, 4),
        **after.as_metrics("val"),
        **test_score.as_metrics("test"),
        **valid_copy.base.as_metrics("val_transformer", counts=False),
        **test_copy.base.as_metrics("test_transformer", counts=False),
        **baseline_valid.as_metrics("val_ngram", counts=False),
        **baseline_test.as_metrics("test_ngram", counts=False),
        "train_loss_end": round(result.train_loss_end, 4),
    }
    log.info("replies: metrics %s after %.1f s", info.metrics, result.seconds)

    save_model_folder(out_dir, loaded.model, tokenizer, info)
    replier = TextGenerator(loaded.model, tokenizer, info, device, copy=copy)
    # As serving asks: with the retrieved answers in the prompt.
    samples = [
        (test_pairs[i], replier.reply(test_pairs[i].question, context=test_contexts[i], seed=seed + n))
        for n, i in enumerate(_distinct_intents(test_pairs, config.sample_replies))
    ]
    gpt2_cards.write_replies_card(
        out_dir, info, config.schedule, result, samples, loaded, _overlap_note(loaded, seed, True)
    )
    return info


# --- helpers -------------------------------------------------------------------------------------


def _opening(document: str, words: int = 6) -> str:
    return " ".join(document.split()[:words])


def _distinct_intents(pairs: Sequence[SupportPair], count: int) -> list[int]:
    """The positions of up to ``count`` pairs with different intents, in order."""
    picked, seen = [], set()
    for i, pair in enumerate(pairs):
        if pair.intent not in seen:
            picked.append(i)
            seen.add(pair.intent)
        if len(picked) == count:
            break
    return picked


def _overlap_note(base: BaseModel, seed: int, uses_shared_split: bool) -> str | None:
    """Warn when a queuebot base was pre-trained with another split seed than this fine-tune's."""
    base_seed = base.trained_with_seed()
    if not uses_shared_split or base.info is None or base.info.kind != BASE_KIND or base_seed == seed:
        return None
    log.warning("the base was pre-trained with seed %s, this fine-tune uses %s", base_seed, seed)
    return (
        f"The base was pre-trained with split seed {base_seed} and this fine-tune uses {seed}: some held-out "
        "texts here were in the base's training data, so the perplexities below are optimistic."
    )
