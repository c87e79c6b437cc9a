"""Approved answers made safe for this conversation: site facts filled, identifiers the customer
did not give taken out (or replaced by the one they gave), interface names shown as names."""

from __future__ import annotations

import pytest

from workers.replies.guard import guard_reply

SLOTS = {"Website Name": "shop.example.com", "Customer Support Phone Number": "+1 555 0100"}


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "I understand you want to cancel order number {{Order Number}}. Log in to {{Website Name}}.",
            "I understand you want to cancel order. Log in to shop.example.com.",
        ),
        (
            "Locate the order with the number 732201349959. Then open {{Order Details}}.",
            "Locate the order. Then open Order Details.",
        ),
        (
            "To cancel purchase 00004587345, call {{Customer Support Phone Number}}.",
            "To cancel purchase, call +1 555 0100.",
        ),
        ("Your refund for {{370795561790}} is on its way.", "Your refund for your order is on its way."),
    ],
)
def test_identifiers_the_customer_never_gave_are_removed(answer: str, expected: str) -> None:
    guarded = guard_reply(answer, ["I want to cancel my order"], SLOTS)

    assert guarded.text == expected
    assert guarded.removed
    assert not any(ch.isdigit() for ch in guarded.text.replace("+1 555 0100", ""))


def test_the_customers_own_order_number_takes_the_place_of_the_examples() -> None:
    guarded = guard_reply(
        "To cancel order number {{Order Number}}, open the order with the number 732201349959.",
        ["please cancel order AB-12345 now"],
        SLOTS,
    )

    assert guarded.text == "To cancel order number AB-12345, open the order with the number AB-12345."
    assert guarded.removed == []
    assert guarded.filled == {"Order Number": "AB-12345", "732201349959": "AB-12345"}


def test_a_number_the_customer_wrote_is_kept_as_it_is() -> None:
    guarded = guard_reply("Order 98765432 will be cancelled.", ["cancel order 98765432"], SLOTS)

    assert guarded.text == "Order 98765432 will be cancelled."
    assert (guarded.filled, guarded.removed) == ({}, [])


def test_site_facts_come_from_the_settings_and_interface_names_stay_names() -> None:
    guarded = guard_reply("Visit {{Website Name}} and open {{Order History}}.", ["hi"], SLOTS)

    assert guarded.text == "Visit shop.example.com and open Order History."
    assert guarded.filled == {"Website Name": "shop.example.com"}


def test_the_example_customers_amount_becomes_this_customers_or_goes() -> None:
    answer = "I see you would like a refund of $1499. Explain your request for a refund of $1499."

    mine = guard_reply(answer, ["I want a refund of $20"], SLOTS, example_texts=["refunding $1499"])
    none = guard_reply(answer, ["I want a refund"], SLOTS, example_texts=["refunding $1499"])

    assert mine.text == "I see you would like a refund of $20. Explain your request for a refund of $20."
    assert none.text == "I see you would like a refund. Explain your request for a refund."
    assert none.removed == ["$1499"]


def test_a_policy_amount_of_the_approved_answer_stays() -> None:
    guarded = guard_reply("The cancellation fee is $10.", ["what does cancelling cost"], SLOTS)

    assert guarded.text == "The cancellation fee is $10."


def test_the_example_customers_name_goes_with_its_comma() -> None:
    guarded = guard_reply("No worries, {{Name Field Anonymized}}, I'm here to help.", ["hi"], SLOTS)

    assert guarded.text == "No worries, I'm here to help."
    assert guarded.removed == ["Name Field Anonymized"]


def test_generated_sentences_with_amounts_or_links_nothing_backs_are_dropped_whole() -> None:
    generated = (
        "The fee is $10. You will get 50% back. See https://shop.example.com/help. "
        "Or visit www.evil.example.com today. We are here to help."
    )

    guarded = guard_reply(
        generated,
        ["is the help page shop.example.com/help?"],
        SLOTS,
        approved_texts=["A cancellation fee of $10 applies."],
    )

    assert guarded.text == "The fee is $10. See https://shop.example.com/help. We are here to help."
    assert guarded.removed == ["50%", "www.evil.example.com"]


def test_a_site_fact_is_not_doubled_by_the_word_before_its_placeholder() -> None:
    guarded = guard_reply("Log in on our {{Website Name}}.", ["hi"], {"Website Name": "our website"})

    assert guarded.text == "Log in on our website."
