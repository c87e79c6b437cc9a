"""Reading knowledge-base sources: CSV, JSON Lines, Markdown articles; bad files say where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.knowledge.sources import KnowledgeItem, SourceError, read_source

FIXTURES = Path(__file__).parent / "fixtures"


def test_csv_rows_become_items_with_the_support_sets_column_names() -> None:
    items = read_source(FIXTURES / "support.csv")

    assert items[0] == KnowledgeItem(
        intent="cancel_order",
        answer="To cancel order {{Order Number}}, open Order Details and choose Cancel Order.",
        questions=("I want to cancel order {{Order Number}}",),
        category="ORDER",
    )
    assert [item.intent for item in items] == ["cancel_order", "cancel_order", "track_refund"]


def test_json_lines_accept_one_question_or_many_and_skip_blank_lines() -> None:
    items = read_source(FIXTURES / "answers.jsonl")

    assert [item.questions for item in items] == [
        ("how long does delivery take", "when will my parcel arrive"),
        ("can I talk to a person",),
    ]
    assert (items[0].tags, items[1].category) == (("shipping",), "CONTACT")


def test_markdown_articles_take_the_heading_as_question_and_front_matter_as_fields() -> None:
    address, hours = read_source(FIXTURES / "articles")

    assert address == KnowledgeItem(
        intent="change_shipping_address",
        answer=(
            "\nOpen **Account → Addresses**, edit the address and save it.\n"
            "Orders that have already shipped keep their old address."
        ).strip(),
        questions=(
            "How do I change my shipping address?",
            "I moved, where do I send my new address?",
            "update delivery address",
        ),
        category="SHIPPING",
        tags=("shipping", "address"),
    )
    assert (hours.intent, hours.questions, hours.category) == (
        "opening_hours",
        ("When is customer service open?",),
        None,
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("kb.csv", "question,answer\nhi,hello\n", r"kb.csv: needs a column intent"),
        ("kb.csv", "question,answer,intent\nhi,,greet\n", r"kb.csv, row 2: no answer"),
        ("kb.jsonl", '{"intent": "x", "answer": "y"}\n', r"kb.jsonl, line 1: no question"),
        ("kb.jsonl", "\n[1, 2]\n", r"kb.jsonl, line 2: expected an object, got list"),
        (
            "kb.jsonl",
            '{"intent": 7, "answer": "y", "question": "q"}\n',
            r"kb.jsonl, line 1: expected text, got int",
        ),
        ("kb.md", "# Question\nAnswer\n", r"kb.md: no intent"),
        ("kb.md", "---\nintent: x\n", r"kb.md: the front matter opened on line 1 is never closed"),
        ("kb.md", "---\ncolour: red\n---\n# Q\nA\n", r"kb.md, line 2: expected one of"),
        ("kb.txt", "anything", r"kb.txt: not a .csv, .jsonl or .md file"),
    ],
)
def test_a_bad_source_is_refused_with_file_and_place(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(SourceError, match=message):
        read_source(path)
