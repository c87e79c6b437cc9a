"""Approved answers made safe for this conversation: site facts filled, identifiers the customer
did not give taken out (or replaced by the one they gave), interface names shown as names."""

from __future__ import annotations

import pytest

from workers.services.reply_guard import guard_reply

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
