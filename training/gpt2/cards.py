"""Model cards (README.md) for the three GPT-2 builds: what the model is, its data, training and results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from training.gpt2.base import BaseModel
from training.gpt2.data import SupportPair
from training.gpt2.loop import FitResult
from training.gpt2.profiles import TrainingSchedule
from training.model_card import write_model_card
from training.replies.feedback_pairs import describe_skipped
from workers.ml.copy_mixture import INFO_KEY as COPY_INFO_KEY
from workers.ml.info import ModelInfo
from workers.ml.ngram_mixture import INFO_KEY as MIXTURE_INFO_KEY

_SAMPLES_HEADING = "Sample generations (temperature 0.8, top-p 0.95, seeded)"
_REFERENCE_CHARS = 300  # how much of a reference reply the card quotes


def write_base_card(
    folder: Path,
    info: ModelInfo,
    schedule: TrainingSchedule,
    result: FitResult,
    samples: Sequence[tuple[str, str]],
) -> None:
    data, metrics = info.data, info.metrics
    write_model_card(
        folder,
        title="queuebot GPT-2 base (pre-trained here)",
        summary=(
            "**This is NOT OpenAI's GPT-2 checkpoint.** It is a small model with the GPT-2 architecture "
            f"({info.parameters:,} parameters, embeddings tied with the output layer) and "
            f"{data['vocabulary']}, pre-trained here from random weights on {result.tokens_seen:,} tokens "
            f"of news and customer-support text in {info.training_seconds:.0f} s on {info.device}. "
            f"{_perplexities(info, 'val_news', 'held-out news')}; held-out customer-support dialogues "
            f"{metrics['val_support_perplexity']:,.1f}. It is a starting point for fine-tuning, not a "
            "model to serve."
        ),
        info=info,
        sections={
            "Data": (
                f"`corpora/bbc_news.jsonl`: {data['train_articles']:,} BBC news articles (2004-2005), title "
                f"and body. `customer_support/bitext_train.csv`: {data['train_dialogues']:,} customer "
                "questions each followed by the agent's reply, as plain text. Documents are shuffled, joined "
                "with `<|endoftext|>` and cut into blocks of the context length "
                f"({data['train_tokens_available']:,} tokens available). Split: {data['split']}. "
                f"Held out: {data['valid_articles']} articles and "
                f"{data['valid_dialogues']} dialogues (validation; {data['valid_tokens_scored']:,} of their "
                f"tokens are scored), plus {data['test_dialogues_untouched']} dialogues kept for the reply "
                f"model's test set. Licences: {'; '.join(data['licences'])}."
            ),
            "Training": _training(schedule, result, "tokens seen"),
            _SAMPLES_HEADING: _samples(samples),
        },
    )


def write_generator_card(
    folder: Path,
    info: ModelInfo,
    schedule: TrainingSchedule,
    result: FitResult,
    samples: Sequence[tuple[str, str]],
    base: BaseModel,
    overlap_note: str | None,
) -> None:
    data, metrics = info.data, info.metrics
    corpus = (
        "`corpora/bbc_news.jsonl` (BBC news articles, title and body; research use)"
        if data["default_corpus"]
        else f"the user corpus `{data['corpus']}`"
    )
    write_model_card(
        folder,
        title="queuebot text generator",
        summary=(
            f"{base.provenance()} It was fine-tuned as a causal language model on {corpus} for "
            f"{info.training_seconds:.0f} s on {info.device}. Held-out perplexity "
            f"{metrics['val_perplexity_before']:,.1f} before fine-tuning (the transformer alone); after: "
            f"{_served_perplexities(info, 'val', 'held-out documents')}. It continues text in the style "
            "of that corpus; it knows no facts you can rely on."
        ),
        info=info,
        sections={
            "Data": (
                f"{corpus}: {data['train_documents']:,} training documents joined with `<|endoftext|>` "
                f"into blocks of {data['block_size']} tokens ({data['train_tokens_available']:,} tokens "
                "available). "
                f"Held out: {data['split']}, {data['valid_documents']} documents; perplexity is measured on "
                f"{data['valid_tokens_scored']:,} of their tokens. " + (overlap_note or "")
            ),
            "Training": _training(schedule, result, "tokens seen"),
            _SAMPLES_HEADING: _samples(samples),
        },
    )


def write_replies_card(
    folder: Path,
    info: ModelInfo,
    schedule: TrainingSchedule,
    result: FitResult,
    samples: Sequence[tuple[SupportPair, str]],
    base: BaseModel,
    overlap_note: str | None,
) -> None:
    data: Mapping[str, Any] = info.data
    metrics = info.metrics
    copy_weights = data[COPY_INFO_KEY]["weights"]
    extra = ""
    # data["train_pairs"] counts every training pair; the Bitext sentence names the Bitext ones.
    bitext_pairs = data["train_pairs"]
    if data["extra_pairs"]:
        extra = f" plus {data['extra_pairs']} extra pairs from `{data['extra_pairs_file']}`"
        bitext_pairs -= data["extra_pairs"]
    if data.get("feedback"):
        extra += f" plus {data['feedback']['pairs']} up-voted replies from feedback (below)"
        bitext_pairs -= data["feedback"]["pairs"]
    shown = "\n\n".join(
        f"**Customer** ({pair.intent}): {pair.question}\n\n**Model:** {reply or '(empty reply)'}\n\n"
        f"*Reference:* {_clip(pair.reply)}"
        for pair, reply in samples
    )
    write_model_card(
        folder,
        title="queuebot reply generator",
        summary=(
            f"{base.provenance()} It was fine-tuned to write a customer-service agent's reply to a "
            f"customer's question from the nearest approved answers, for {info.training_seconds:.0f} s on "
            f"{info.device}. Perplexity on the replies of held-out pairs: validation "
            f"{metrics['val_perplexity_before']:,.2f} before fine-tuning, {metrics['val_perplexity']:,.2f} "
            f"after as served; {_perplexities(info, 'test', 'test')}. It is served interpolated with "
            "copying from its prompt, not with that n-gram (an n-gram that sees only the last few tokens "
            "pulls replies away from the question and the approved answers in the prompt): after the last "
            f"1 to {len(copy_weights)} tokens written also occur in the prompt, copying what follows them "
            f"there takes {_share_range(copy_weights)} of the probability by match length "
            f"({', '.join(f'{w:.2f}' for w in copy_weights)}), chosen on the validation replies; the "
            f"transformer alone scores {metrics['test_transformer_perplexity']:,.2f} on test. "
            "Replies copy the data's style, including its "
            "`{{placeholder}}` slots; they are drafts for a person to check, not answers to send unread."
        ),
        info=info,
        sections={
            "Prompt format": (
                "Serving must use the very same template; it is stored in `queuebot.json` "
                "(`prompt_template`, `turn_template`, `context_template`). Training fills `{history}` with "
                f"nothing and `{{context}}` with the approved answers of the {data['context_answers']} "
                "nearest other training questions (MiniLM, as the knowledge base retrieves them), as many "
                "as fit beside a full-length reply, the nearest first "
                f"({data['train_examples_with_context']:,} of {data['train_pairs']:,} training prompts kept "
                "at least one).\n\n"
                f"```\n{data['prompt_template']}\n```\n\nThe reply follows after one space and ends with "
                "`<|endoftext|>`. The loss is taken on the reply tokens (and that end marker) only: the "
                "prompt's labels are -100."
            ),
            "Data": (
                f"`customer_support/bitext_train.csv` (Bitext, CDLA-Sharing-1.0): {bitext_pairs:,} of "
                f"{data['train_pairs_available']:,} training pairs{extra}, examples cut at "
                f"{data['max_length']} tokens. Split: {data['split']}. Validation: "
                f"{data['valid_pairs_scored']} of {data['valid_pairs']} pairs scored; test: "
                f"{data['test_pairs_scored']} of "
                f"{data['test_pairs']}. The data is highly templated (27 intents, many paraphrases of each "
                "question), so low perplexities partly reflect that. " + (overlap_note or "")
            ),
            **_feedback_section(data, schedule, result),
            "Training": _training(schedule, result, "tokens seen (prompt and reply)"),
            "Sample replies to held-out test questions (temperature 0.7, top-p 0.9, seeded)": shown,
        },
    )


def _feedback_section(
    data: Mapping[str, Any], schedule: TrainingSchedule, result: FitResult
) -> dict[str, str]:
    """What people's votes added, and what learning from the bot's own sent answers means."""
    feedback = data.get("feedback")
    if not feedback:
        return {}
    skipped = describe_skipped(feedback["skipped"]) or "nothing"
    answered_by = ", ".join(f"{name} ({count})" for name, count in feedback["answered_by"].items())
    seen_per_pair = result.steps * schedule.batch_size / data["train_pairs"]
    return {
        "Feedback": (
            f"{feedback['pairs']} up-voted bot replies from {', '.join(f'`{f}`' for f in feedback['files'])} "
            f"({feedback['votes']} votes read; skipped: {skipped}) joined the training pairs, never the "
            "validation or test parts; the customer's message is the question and the answer the bot sent "
            f"is the reply. Models that answered: {answered_by}. Training drew about "
            f"{result.steps * schedule.batch_size:,} examples from {data['train_pairs']:,} training pairs, "
            f"so a feedback pair was seen about {seen_per_pair:.2f} times on average, like any other pair."
            "\n\nThese replies are what the customer saw: approved answers after the reply guard "
            "(site-fact `{{placeholders}}` filled from this deployment's settings, identifiers the "
            "customer did not give removed) or replies an earlier model wrote. From them the model "
            "learns this deployment's filled-in facts and the guard's wording, not `{{placeholder}}` "
            "slots. The export does not say how an answer was produced, so an up-voted handoff notice "
            "is learnt as a reply too. When the knowledge base holds Bitext answers, a feedback reply "
            "can repeat a held-out reply, and the validation and test perplexities are then optimistic."
        )
    }


def _share_range(weights: Sequence[float]) -> str:
    return f"{min(weights):.0%} to {max(weights):.0%}"


def _perplexities(info: ModelInfo, prefix: str, what: str) -> str:
    """A base's held-out figures beside the n-gram baseline's, per GPT-2 token of the same text."""
    metrics = info.metrics
    return (
        f"{what} perplexity {metrics[f'{prefix}_perplexity']:,.2f} per GPT-2 token "
        f"({metrics[f'{prefix}_bits_per_byte']:.3f} bits per byte), against "
        f"{metrics[f'{prefix}_ngram_perplexity']:,.2f} ({metrics[f'{prefix}_ngram_bits_per_byte']:.3f}) for "
        f"an order-{info.data['ngram_order']} Kneser-Ney model fitted on the same training tokens"
    )


def _served_perplexities(info: ModelInfo, prefix: str, what: str) -> str:
    """A served model's held-out figures: the interpolation, and each of its halves alone."""
    metrics, mixture = info.metrics, info.data[MIXTURE_INFO_KEY]
    return (
        f"{what} perplexity **{metrics[f'{prefix}_perplexity']:,.2f}** per GPT-2 token "
        f"({metrics[f'{prefix}_bits_per_byte']:.3f} bits per byte) as served: the transformer, alone "
        f"{metrics[f'{prefix}_transformer_perplexity']:,.2f} "
        f"({metrics[f'{prefix}_transformer_bits_per_byte']:.3f}), interpolated with an "
        f"order-{mixture['order']} Kneser-Ney model fitted on the same training tokens, alone "
        f"{metrics[f'{prefix}_ngram_perplexity']:,.2f} ({metrics[f'{prefix}_ngram_bits_per_byte']:.3f}); "
        f"the transformer's weight, {mixture['weight']:.2f}, was chosen on the validation text"
        + _copy_note(info, prefix)
    )


def _copy_note(info: ModelInfo, prefix: str) -> str:
    """How copying from the text so far changed a served generator's figures, if it copies."""
    copy = info.data.get(COPY_INFO_KEY)
    if copy is None:
        return ""
    weights = copy["weights"]
    return (
        f"; on top of that interpolation, copying what followed the last 1 to {len(weights)} tokens "
        f"earlier in the text takes {_share_range(weights)} of the probability by match length "
        f"({', '.join(f'{w:.2f}' for w in weights)}, chosen on the validation text): without it, "
        f"{info.metrics[f'{prefix}_uncopied_perplexity']:,.2f}"
    )


def _training(schedule: TrainingSchedule, result: FitResult, tokens_label: str) -> str:
    curve = ", ".join(f"{step}: {loss:.3f}" for step, loss in result.evaluations)
    stop = (
        f"stopped early after step {result.steps}"
        if result.stopped_early
        else f"ran all {result.steps} steps"
    )
    return (
        f"{result.steps} steps of batch {schedule.batch_size}: {result.tokens_seen:,} {tokens_label}, "
        f"{result.target_tokens_seen:,} of them loss targets. AdamW lr {schedule.learning_rate} "
        f"(weight decay {schedule.weight_decay} on matrices), {schedule.warmup_steps} warm-up steps "
        "then linear decay "
        f"towards 0 at step {schedule.max_steps}, gradient clipping at 1.0. Validation loss every "
        f"{schedule.eval_every} steps (step: loss): {curve}; early stopping with patience "
        f"{schedule.patience} {stop}; the weights kept are those of step {result.best_step}."
    )


def _samples(samples: Sequence[tuple[str, str]]) -> str:
    return "\n\n".join(f"**{prompt}** {text}" for prompt, text in samples)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REFERENCE_CHARS else text[:_REFERENCE_CHARS].rsplit(" ", 1)[0] + " ..."
