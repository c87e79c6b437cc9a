"""Make an approved answer safe to send in this conversation.

Approved answers come from example conversations: they hold placeholders (``{{Order Number}}``,
``{{Website Name}}``, ``{{Order History}}``) and, often, the example customer's own order number.
A reply must never show a customer a number they did not give us, so:

- a placeholder for a site fact (website, phone, e-mail, opening hours…) is filled from the
  settings (``QUEUEBOT_REPLY_SLOT_VALUES``). The answers were written for the fact itself ("at
  1-800-555-0100", "available 24/7", "your Acme account"), while a value may be a phrase with its
  own determiner ("our website"), so the value is fitted to its sentence: the answer's determiner
  stands and the value's goes ("your our website account" → "your website account"), a time phrase
  gets the "during" it needs, a generic phrase that only repeats the noun before it is left out
  ("our website, our website" → "our website"), "a"/"an" follows the value, and a value that opens
  a sentence is capitalised. A filled value is then out of reach of the identifier rule below, so a
  configured phone number is never taken for the example customer's number;
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
# Site facts are filled so that the sentence still reads (see _fit).
DETERMINERS = frozenset({"a", "an", "the", "our", "your", "my", "their", "his", "her", "its"})
TEXT_DETERMINERS = DETERMINERS | {"this", "that", "these", "those"}
WORD = re.compile(r"[A-Za-z][A-Za-z-]*|\d[\w/-]*")  # a plain word, or "24/7"
# The words an answer uses for a site fact: "our website, {{Website Name}}" says it twice.
SAME_THING = (
    frozenset({"website", "site", "platform", "portal", "homepage", "store", "shop"}),
    frozenset({"number", "line", "phone", "helpline", "hotline"}),
    frozenset({"address", "email", "e-mail"}),
    frozenset({"hours", "availability"}),
)
# A noun, then what joins an appositive or a label to it: ", " "[" "(" " at " or nothing.
REDUNDANT_LEAD = re.compile(r"\b([A-Za-z][A-Za-z-]*)([ \t]*[,\[(]|[ \t]+at)?[ \t]*$")
TIME_SLOT = re.compile(r"\b(availability|hours|time)\b", re.IGNORECASE)
TIME_PREPOSITIONS = frozenset(
    {"during", "within", "outside", "in", "through", "throughout", "before", "after", "until", "till"}
)
SENTENCE_START = re.compile(r"(?:^|[.!?][ \t]+|\n[ \t]*)$")
SAID_WITH_A_VOWEL = ("hour", "honest", "honor", "honour", "heir")
SAID_WITH_A_CONSONANT = ("uni", "use", "usu", "uti", "eu", "one", "once")
FACT_MARKERS = 0xE000  # private-use characters: one per filled site fact
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
    # Generated text only: sentences dropped whole for an amount or a link nothing approved backs.
    dropped_sentences: list[str] = field(default_factory=list)


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
    dropped: list[str] = []
    if approved_texts is not None:
        answer = _drop_unsupported_sentences(answer, [*approved_texts, *customer_texts], removed, dropped)
    answer = _replace_example_amounts(answer, customer_texts, example_texts, filled, removed)

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
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

    facts: list[str] = []
    text = _fill_site_facts(answer, slot_values, filled, facts)
    text = NAME_WITH_COMMA.sub("", PLACEHOLDER.sub(placeholder, text))
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
    for i, fact in enumerate(facts):
        text = text.replace(_fact_marker(i), fact)
    return GuardedReply(
        text=text, filled=filled, removed=list(dict.fromkeys(removed)), dropped_sentences=dropped
    )


def _fact_marker(i: int) -> str:
    """Holds a filled site fact's place: no identifier pattern matches it, so a configured phone
    number ("1-800-555-0100") is not taken for the example customer's identifier."""
    return chr(FACT_MARKERS + i)


def _fill_site_facts(
    text: str, slot_values: Mapping[str, str], filled: dict[str, str], facts: list[str]
) -> str:
    done = ""
    while match := next((m for m in PLACEHOLDER.finditer(text) if m.group(1) in slot_values), None):
        name = match.group(1)
        filled[name] = slot_values[name]
        done, value, text = _fit(done + text[: match.start()], name, slot_values[name], text[match.end() :])
        if value:
            facts.append(value)
            done += _fact_marker(len(facts) - 1)
    return done + text


def _fit(before: str, name: str, value: str, after: str) -> tuple[str, str, str]:
    """A site fact's value placed in its sentence: (the text before it, the value, the text after it)."""
    words = value.split()
    # A value like "our website" is a noun phrase of its own, not the bare fact the answer was
    # written for ("at 1-800-555-0100", "available 24/7"): it brings its own determiner.
    phrase = len(words) > 1 and words[0].lower() in DETERMINERS
    line = before.rsplit("\n", 1)[-1]
    spaced = line[-1:] in (" ", "\t")
    tokens = line.split() if spaced else []
    last = tokens[-1].lower() if tokens else ""

    generic = phrase and value.islower()  # "our website", not a name like "the Acme store"
    if (
        generic
        and (redundant := REDUNDANT_LEAD.search(before))
        and _same_thing(redundant.group(1), words[-1])
    ):
        # "our website, {{Website Name}}," / "our toll-free number {{Phone}}": the words before
        # already name the fact, and a generic phrase would only say it again.
        closer = {",": ",", "[": "]", "(": ")"}.get((redundant.group(2) or "").strip())
        if closer:
            after = re.sub(r"^[ \t]*" + re.escape(closer), "", after)
        return before[: redundant.end(1)], "", after

    prefix = ""
    determined = last in TEXT_DETERMINERS or (
        len(tokens) > 1 and tokens[-2].lower() in TEXT_DETERMINERS and WORD.fullmatch(tokens[-1]) is not None
    )
    if phrase and determined:
        # "your {{Website Name}} account", "our dedicated {{Phone}}": the answer's own determiner
        # (and its adjective) already opens the noun phrase.
        words = words[1:]
    elif (
        phrase
        and TIME_SLOT.search(name)
        and last not in TIME_PREPOSITIONS
        and not SENTENCE_START.search(before)
    ):
        # "They are available {{Customer Support Availability}}" was written for "24/7"; a noun
        # phrase needs a preposition there.
        if last == "from":
            during = "During" if tokens[-1][0].isupper() else "during"
            before = before[: len(before) - len(line)] + re.sub(r"\b[Ff]rom(?=[ \t]+$)", during, line)
        else:
            prefix = "during "

    following = re.match(r"[ \t]+([A-Za-z-]+)\b", after)
    if following and words and _same_thing(following.group(1), words[-1]):
        # "the {{Website Name}} website" names its noun once.
        words = words[:-1]
    value = prefix + " ".join(words)
    if not value:
        return before.rstrip(" \t"), "", after

    if last in ("a", "an") and not prefix:
        article = _article(value.split()[0])
        if article != last:
            article = article.capitalize() if tokens[-1][0].isupper() else article
            before = before[: len(before) - len(line)] + re.sub(r"\b[Aa]n?([ \t]+)$", article + r"\1", line)
    if SENTENCE_START.search(before) and WORD.fullmatch(value.split()[0]) and value[0].islower():
        value = value[0].upper() + value[1:]
    return before, value, after


def _same_thing(word: str, noun: str) -> bool:
    word, noun = word.lower(), noun.lower()
    return word == noun or any(word in kind and noun in kind for kind in SAME_THING)


def _article(word: str) -> str:
    """ "a" or "an" by how the word is said, near enough for the nouns of a customer-service answer."""
    lower = word.lower()
    if word.isupper() and len(word) > 1:  # said letter by letter: "an FAQ", "a PIN"
        return "an" if word[0] in "AEFHILMNORSX" else "a"
    if lower.startswith(SAID_WITH_A_VOWEL):
        return "an"
    if lower.startswith(SAID_WITH_A_CONSONANT):
        return "a"
    return "an" if lower[:1] in "aeiou" else "a"


def _drop_unsupported_sentences(
    text: str, supported_by: Sequence[str], removed: list[str], dropped: list[str]
) -> str:
    """Generated text without the sentences whose amounts or links nothing approved or said backs."""
    known = " ".join(supported_by).lower()
    kept = []
    for sentence in sentences(text):
        found = [m.group(0) for pattern in (AMOUNT, LINK) for m in pattern.finditer(sentence)]
        invented = [value for value in found if LINK_PREFIX.sub("", value.lower()) not in known]
        if invented:
            removed.extend(invented)
            dropped.append(sentence)
        else:
            kept.append(sentence)
    return " ".join(kept)


def sentences(text: str) -> list[str]:
    """The sentences the guard judges one at a time."""
    return [sentence for sentence in SENTENCE_BREAK.split(text) if sentence.strip()]


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
