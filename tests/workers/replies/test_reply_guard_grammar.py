"""Site facts filled into approved answers so that the sentence still reads: checked on every
approved answer of the support data with the default values, and on representative sentences."""

from __future__ import annotations

import csv
import re
from collections import Counter

import pytest

from core.settings import Settings, get_settings
from workers.replies.guard import PLACEHOLDER, guard_reply

SLOTS: dict[str, str] = Settings.model_fields["reply_slot_values"].get_default(call_default_factory=True)
DETERMINER = r"(?:your|our|the|a|an|my|their|his|her|its)"
# "your our website", "the the", and "our dedicated our customer support phone line".
DOUBLED_DETERMINER = re.compile(rf"\b{DETERMINER}\s+(?:[\w/-]+\s+)?{DETERMINER}\b", re.IGNORECASE)
# "the website website", "our website, our website", "our website at our website".
SAID_TWICE = re.compile(rf"\b(\w+),?\s+(?:at\s+)?(?:{DETERMINER}\s+)?\1\b", re.IGNORECASE)


def _approved_answers() -> list[dict[str, str]]:
    with open(get_settings().data_dir / "customer_support/bitext_train.csv", newline="") as f:
        return list(csv.DictReader(f))


def _found(pattern: re.Pattern[str], text: str) -> Counter[str]:
    return Counter(" ".join(m.group(0).lower().split()) for m in pattern.finditer(text))


def test_no_approved_answer_reads_wrongly_once_its_site_facts_are_filled() -> None:
    rows = _approved_answers()
    assert len(rows) > 4000
    wrong: list[str] = []
    with_facts = filled = 0
    for row in rows:
        answer = row["response"]
        guarded = guard_reply(answer, [row["instruction"]], SLOTS, example_texts=[row["instruction"]])
        with_facts += any(m.group(1) in SLOTS for m in PLACEHOLDER.finditer(answer))
        filled += bool(guarded.filled.keys() & SLOTS.keys())
        # What the answer says without any filling, each placeholder shown as its name: its own
        # wording ("ensure that the", "the {{My Orders}} section") is not the fill's doing.
        unfilled = PLACEHOLDER.sub(lambda m: m.group(1), answer)
        left = [m.group(0) for m in PLACEHOLDER.finditer(guarded.text) if m.group(1) in SLOTS]
        doubled = (_found(DOUBLED_DETERMINER, guarded.text) - _found(DOUBLED_DETERMINER, unfilled)) + (
            _found(SAID_TWICE, guarded.text) - _found(SAID_TWICE, unfilled)
        )
        if left or doubled:
            wrong.append(f"{sorted(doubled) + left}: {guarded.text!r}")

    assert filled == with_facts > 2000  # the check is about filled answers: most have a site fact
    assert wrong == [], f"{len(wrong)} answers, e.g.\n" + "\n".join(wrong[:5])


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # The answer (return_order/change_shipping_address steps in the data).
        (
            "1. Begin by logging into your {{Website Name}} account.",
            "1. Begin by logging into your website account.",
        ),
        ("1. Log in to your account on our {{Website Name}}.", "1. Log in to your account on our website."),
        (
            "1. Visit the {{Website Name}} and navigate to Contact Us.",
            "1. Visit the website and navigate to Contact Us.",
        ),
        ("1. Access the {{Website Name}} website.", "1. Access the website."),
        ("You can visit our official {{Website Name}}.", "You can visit our official website."),
        (
            "You can reach us by calling our dedicated {{Customer Support Phone Number}}.",
            "You can reach us by calling our dedicated customer support phone line.",
        ),
        (
            "To connect with a {{Company Name}} representative, follow these steps.",
            "To connect with a company representative, follow these steps.",
        ),
        # The words before already name the fact: the generic phrase would say it again.
        (
            "1. Open our website, {{Website Name}}, and log in to your account.",
            "1. Open our website and log in to your account.",
        ),
        ("1. Visit our website at {{Website URL}}.", "1. Visit our website."),
        (
            "Call our toll-free number, {{Customer Support Phone Number}}, or use Live Chat.",
            "Call our toll-free number or use Live Chat.",
        ),
        (
            "Reach us by phone at {{Support Phone Number}} or by email at {{Customer Support Email}}.",
            "Reach us by phone or by email.",
        ),
        # Written for "24/7" or "9am-5pm": a noun phrase needs a preposition.
        (
            "We are available {{Customer Support Availability}} by phone at {{Support Phone Number}}.",
            "We are available during our opening hours by phone.",
        ),
        (
            "Our dedicated team is available from {{Customer Support Hours}} to provide assistance.",
            "Our dedicated team is available during our opening hours to provide assistance.",
        ),
        (
            "Reach them during {{Customer Support Availability}} at {{Customer Support Phone Number}}.",
            "Reach them during our opening hours at our customer support phone line.",
        ),
        # A sentence that starts with the fact starts with a capital.
        ("{{Website Name}} offers a wide range of products.", "Our website offers a wide range of products."),
        (
            "We are here to help. {{Customer Support Availability}} are when we answer.",
            "We are here to help. Our opening hours are when we answer.",
        ),
        (
            "At {{Company Name}}, we offer several payment methods.",
            "At our company, we offer several payment methods.",
        ),
    ],
)
def test_the_default_site_facts_fit_the_sentence(answer: str, expected: str) -> None:
    assert guard_reply(answer, ["hi"], SLOTS).text == expected


@pytest.mark.parametrize(
    ("answer", "slots", "expected"),
    [
        # A site's own name or number is worth saying, also after words that name the thing.
        (
            "Open our website, {{Website Name}}, and log in.",
            {"Website Name": "shop.example.com"},
            "Open our website, shop.example.com, and log in.",
        ),
        (
            "Open our website, {{Website Name}}, and log in.",
            {"Website Name": "the Acme store"},
            "Open our website, the Acme store, and log in.",
        ),
        (
            "Call our toll-free number, {{Customer Support Phone Number}}.",
            {"Customer Support Phone Number": "1-800-555-0100"},
            "Call our toll-free number, 1-800-555-0100.",
        ),
        (
            "They are available {{Customer Support Availability}}.",
            {"Customer Support Availability": "24/7"},
            "They are available 24/7.",
        ),
        (
            "To connect with a {{Company Name}} representative, call us.",
            {"Company Name": "Acme"},
            "To connect with an Acme representative, call us.",
        ),
        (
            "Open an {{Website Name}} account.",
            {"Website Name": "shop.example.com"},
            "Open a shop.example.com account.",
        ),
        (
            "A {{Company Name}} agent will call.",
            {"Company Name": "online shop"},
            "An online shop agent will call.",
        ),
        # A domain is written as it is, even at the start of a sentence.
        ("{{Website Name}} has it.", {"Website Name": "shop.example.com"}, "shop.example.com has it."),
    ],
)
def test_configured_site_facts_fit_the_sentence(answer: str, slots: dict[str, str], expected: str) -> None:
    assert guard_reply(answer, ["hi"], slots).text == expected


def test_a_configured_phone_number_is_not_taken_for_an_identifier() -> None:
    guarded = guard_reply(
        "Call {{Customer Support Phone Number}} about order {{Order Number}}.",
        ["where is my order"],
        {"Customer Support Phone Number": "1-800-555-0100"},
    )

    assert guarded.text == "Call 1-800-555-0100 about order."
    assert guarded.removed == ["Order Number"]
