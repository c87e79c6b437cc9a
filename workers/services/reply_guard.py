"""Make an approved answer safe to send in this conversation.

Approved answers come from example conversations: they hold placeholders (``{{Order Number}}``,
``{{Website Name}}``, ``{{Order History}}``) and, often, the example customer's own order number.
A reply must never show a customer a number they did not give us, so:

- a placeholder for a site fact (website, phone, e-mail, opening hours…) is filled from the
  settings (``QUEUEBOT_REPLY_SLOT_VALUES``);
- a placeholder for an identifier (a name with "number", "ID" or "anonymized", or a literal value)
  and any bare identifier in the text (a token of 5+ letters/digits with a digit in it) that the
  customer did not write becomes the identifier the customer gave in this conversation, or, when
  they gave none, is removed together with the words that introduce it ("order number X" → "order",
  "refund for X" → "refund for your order");
- a placeholder for the example customer's name (``{{Name Field Anonymized}}``) is removed with
  the comma before it ("No worries, {{Name}}, I'm here" → "No worries, I'm here");
- an amount the answer repeats from its example question ("a refund of $1499") is the example
  customer's too: it becomes the amount this customer gave, or goes with the word that introduces it;
- any other placeholder names a part of the site's interface (``{{Order History}}``) and is shown
  as that name.

Generated text (``approved_texts`` given) is held to a stricter rule on top: a sentence with an
amount or a link that appears in neither the approved answers it was written from nor the
customer's messages is dropped whole, since no rewording can make an invented price true.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
IDENTIFIER = re.compile(r"(?<![\w-])(?=[A-Za-z0-9-]*\d)[A-Za-z0-9][A-Za-z0-9-]{4,}(?![\w-])")
IDENTIFIER_SLOT = re.compile(r"\b(number|id|anonymized)\b", re.IGNORECASE)
SENTINEL = "\x00id\x00"
# An identifier that stands for the thing itself ("your refund for X") becomes "your order".
AFTER_PREPOSITION = re.compile(r"\b(for|of|on|about|regarding)\s+" + re.escape(SENTINEL), re.IGNORECASE)
# The words that only introduce an identifier go with it: "order with the number X" -> "order".
INTRODUCTION = re.compile(
    r"[ \t]*(?:(?:with|under|labeled with)\s+)?(?:the\s+)?(?:reference\s+)?(?:number|no\.?|#|ID)?[ \t]*"
    + re.escape(SENTINEL),
    re.IGNORECASE,
)
SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?)])")
NAME_SLOT = re.compile(r"\bname\b", re.IGNORECASE)
NAME_SENTINEL = "\x00name\x00"
NAME_WITH_COMMA = re.compile(r",?[ \t]*" + re.escape(NAME_SENTINEL))
AMOUNT = re.compile(
    r"[$€£]\s?\d[\d,]*(?:\.\d+)?(?<![.,])|\b\d[\d,]*(?:\.\d+)?\s?(?:%|percent\b|USD\b|EUR\b|GBP\b|dollars\b|euros\b|pounds\b)",
    re.IGNORECASE,
)
AMOUNT_SENTINEL = "\x00amount\x00"
AMOUNT_INTRODUCTION = re.compile(r"[ \t]*(?:\b(?:of|for)[ \t]+)?" + re.escape(AMOUNT_SENTINEL))
# A link's trailing punctuation belongs to the sentence around it.
LINK = re.compile(
    r"(?:(?:https?://|www\.)[^\s<>]*|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|io|co|info|biz)\b(?:/[^\s<>]*)?)"
    r"(?<![.,;:!?)])",
    re.IGNORECASE,
)
LINK_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?")  # the same address, written either way
# A sentence ends at . ! or ? before white space: the dots inside a link or an amount end nothing.
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class GuardedReply:
    text: str
    filled: dict[str, str] = field(default_factory=dict)  # placeholder -> the value it got
    removed: list[str] = field(default_factory=list)  # identifiers taken out: the customer never gave them


def guard_reply(
    answer: str,
    customer_texts: Sequence[str],
    slot_values: Mapping[str, str],
    *,
    example_texts: Sequence[str] = (),
    approved_texts: Sequence[str] | None = None,
) -> GuardedReply:
    """``example_texts``: the example questions the approved answer came with; ``approved_texts``:
    for generated text only, the approved answers it was written from."""
    given = list(dict.fromkeys(m.group(0) for text in customer_texts for m in IDENTIFIER.finditer(text)))
    filled: dict[str, str] = {}
    removed: list[str] = []
    if approved_texts is not None:
        answer = _drop_unsupported_sentences(answer, [*approved_texts, *customer_texts], removed)
    answer = _replace_example_amounts(answer, customer_texts, example_texts, filled, removed)

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in slot_values:
            filled[name] = value = slot_values[name]
            # "on our {{Website Name}}" with the value "our website" must not read "our our website".
            first, _, rest = value.partition(" ")
            before = match.string[: match.start()].rstrip().rsplit(None, 1)
            if rest and before and before[-1].lower() == first.lower():
                return rest
            return value
        if NAME_SLOT.search(name):
            removed.append(name)
            return NAME_SENTINEL
        if IDENTIFIER_SLOT.search(name) or any(ch.isdigit() for ch in name):
            if name in given:
                return name
            removed.append(name)
            return SENTINEL
        return name  # a part of the site's interface, e.g. "Order History"

    def bare_identifier(match: re.Match[str]) -> str:
        if match.group(0) in given:
            return match.group(0)
        removed.append(match.group(0))
        return SENTINEL

    text = NAME_WITH_COMMA.sub("", PLACEHOLDER.sub(placeholder, answer))
    text = IDENTIFIER.sub(bare_identifier, text)
    if SENTINEL in text:
        if given:
            text = text.replace(SENTINEL, given[0])
            filled.update({value: given[0] for value in removed})
            removed = []
        else:
            text = AFTER_PREPOSITION.sub(r"\1 your order", text)
            text = INTRODUCTION.sub("", text)
            text = SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    return GuardedReply(text=text, filled=filled, removed=list(dict.fromkeys(removed)))


def _drop_unsupported_sentences(text: str, supported_by: Sequence[str], removed: list[str]) -> str:
    """Generated text without the sentences whose amounts or links nothing approved or said backs."""
    known = " ".join(supported_by).lower()
    kept = []
    for sentence in SENTENCE_BREAK.split(text):
        found = [m.group(0) for pattern in (AMOUNT, LINK) for m in pattern.finditer(sentence)]
        invented = [value for value in found if LINK_PREFIX.sub("", value.lower()) not in known]
        if invented:
            removed.extend(invented)
        else:
            kept.append(sentence)
    return " ".join(sentence for sentence in kept if sentence.strip())


def _replace_example_amounts(
    text: str,
    customer_texts: Sequence[str],
    example_texts: Sequence[str],
    filled: dict[str, str],
    removed: list[str],
) -> str:
    example = {m.group(0) for t in example_texts for m in AMOUNT.finditer(t)}
    if not example:
        return text
    given = next((m.group(0) for t in customer_texts for m in AMOUNT.finditer(t)), None)

    def amount(match: re.Match[str]) -> str:
        value = match.group(0)
        if value not in example:
            return value  # a policy figure of the approved answer, not the example customer's
        if given is not None:
            filled[value] = given
            return given
        removed.append(value)
        return AMOUNT_SENTINEL

    text = AMOUNT.sub(amount, text)
    return SPACE_BEFORE_PUNCTUATION.sub(r"\1", AMOUNT_INTRODUCTION.sub("", text))
