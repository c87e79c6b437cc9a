"""The generation path's request and clean-up: what GPT-2 is asked, and what of its text may be sent.

Shared by the reply pipeline and ``queuebot evaluate-replies``, so both write replies alike.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workers.ml.embedding import SentenceEncoder
from workers.ml.generator import GenerationRequest, TextGenerator, reply_text
from workers.replies.guard import GuardedReply, guard_reply

# Generation sees the conversation's last turns and the best approved answers as context.
HISTORY_TURNS = 2
CONTEXT_ANSWERS = 2
# Long enough for the support data's replies (most are 100-200 tokens); a runaway generation is cut
# at the last full sentence before it.
MAX_GENERATED_CHARS = 700
# Low: a reply should follow the approved answers in its prompt, not explore. Chosen on the replies
# model's validation split with `queuebot evaluate-replies --force-generation --split valid`
# (docs/benchmarks.md has the comparison).
TEMPERATURE = 0.15
TOP_P = 0.9
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


def generation_request(
    model: TextGenerator,
    question: str,
    turns: Sequence[tuple[str, str]],
    context: Sequence[str],
    seed_text: str,
) -> GenerationRequest:
    """``seed_text`` (the job id) seeds the sampling: a redelivered job writes the same reply."""
    return model.reply_request(
        question,
        history=list(turns)[-HISTORY_TURNS:],
        context=list(context)[:CONTEXT_ANSWERS],
        temperature=TEMPERATURE,
        top_p=TOP_P,
        seed=zlib.crc32(seed_text.encode()),
    )


def clean_generated(text: str) -> str:
    """One paragraph of printable text, at most ``MAX_GENERATED_CHARS``; a reply cut off by the token
    budget loses its unfinished last sentence."""
    text = " ".join("".join(ch for ch in text if ch.isprintable() or ch.isspace()).split())
    # Whole {{placeholders}} are the guard's to fill; stray braces are the model's noise.
    kept = PLACEHOLDER.findall(text)
    text = PLACEHOLDER.sub("\x00", text).replace("{", "").replace("}", "")
    for name in kept:
        text = text.replace("\x00", "{{" + name + "}}", 1)
    text = " ".join(text.split())
    if text.endswith((".", "!", "?")) and len(text) <= MAX_GENERATED_CHARS:
        return text
    head = text[:MAX_GENERATED_CHARS]
    end = max(head.rfind(". "), head.rfind("! "), head.rfind("? "))
    if end > 0:
        return head[: end + 1]
    return text if len(text) <= MAX_GENERATED_CHARS else ""


def grounding(encoder: SentenceEncoder, reply: str, context: Sequence[str]) -> float:
    """How close a generated reply stays to the approved answers it was written from: the best MiniLM
    cosine between it and any of them. A reply below ``Settings.reply_min_grounding`` is not sent."""
    if not context:
        return -1.0
    vectors = encoder.encode([reply, *context])
    return float(np.max(vectors[1:] @ vectors[0]))


@dataclass(frozen=True)
class VettedReply:
    """A generated reply after the guard and the grounding check."""

    generated: str  # what the model wrote, cleaned
    guarded: GuardedReply
    grounding: float | None  # None when the guard left nothing to measure
    refusal: str | None  # why it must not be sent; None: send ``guarded.text``


def vet_generated(
    decoded: str,
    customer_texts: Sequence[str],
    context: Sequence[str],
    slot_values: Mapping[str, str],
    encoder: SentenceEncoder,
    min_grounding: float,
) -> VettedReply:
    """What of one decoded reply may reach the customer: cleaned, guarded against amounts and links
    the ``context`` answers and the customer's messages do not hold, and refused when empty or when
    it strays from those answers. The worker and ``evaluate-replies`` both decide through here."""
    generated = clean_generated(reply_text(decoded))
    guarded = guard_reply(generated, customer_texts, slot_values, approved_texts=context)
    if not guarded.text:
        return VettedReply(generated, guarded, None, "the generated reply held nothing that could be sent")
    score = grounding(encoder, guarded.text, context)
    if score < min_grounding:
        return VettedReply(generated, guarded, score, "the generated reply strays from the approved answers")
    return VettedReply(generated, guarded, score, None)
