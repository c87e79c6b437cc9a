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
- any other placeholder names a part of the site's interface (``{{Order History}}``) and is shown
  as that name.
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


@dataclass(frozen=True)
class GuardedReply:
    text: str
    filled: dict[str, str] = field(default_factory=dict)  # placeholder -> the value it got
    removed: list[str] = field(default_factory=list)  # identifiers taken out: the customer never gave them


def guard_reply(answer: str, customer_texts: Sequence[str], slot_values: Mapping[str, str]) -> GuardedReply:
    given = list(dict.fromkeys(m.group(0) for text in customer_texts for m in IDENTIFIER.finditer(text)))
    filled: dict[str, str] = {}
    removed: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in slot_values:
            filled[name] = slot_values[name]
            return slot_values[name]
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

    text = PLACEHOLDER.sub(placeholder, answer)
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
