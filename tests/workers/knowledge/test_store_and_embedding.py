"""Storing knowledge items (one entry per answer, re-imports add only what is new) and embedding
their questions with the real MiniLM encoder."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.main import app as cli
from db.engine import session_scope
from db.models import KnowledgeEntry
from workers.knowledge.embedding import (
    KB_ENCODER_NAME,
    bytes_to_vector,
    embed_pending_questions,
    load_kb_encoder,
)
from workers.knowledge.sources import KnowledgeItem
from workers.knowledge.store import store_items

pytestmark = pytest.mark.usefixtures("database")
FIXTURES = Path(__file__).parent / "fixtures"


def _item(intent: str, *questions: str, answer: str = "The answer.") -> KnowledgeItem:
    return KnowledgeItem(intent=intent, answer=answer, questions=questions)


def _entries(intent: str) -> list[KnowledgeEntry]:
    with session_scope() as session:
        entries = session.scalars(select(KnowledgeEntry).where(KnowledgeEntry.intent == intent)).all()
        for entry in entries:
            entry.questions  # noqa: B018 (load them before the session closes)
        return list(entries)


def test_items_with_the_same_answer_become_one_entry_with_every_question() -> None:
    intent = f"refund-{uuid.uuid4().hex[:6]}"

    with session_scope() as session:
        counts = store_items(
            session, [_item(intent, "where is my refund"), _item(intent, "refund status?")], "t"
        )

    [entry] = _entries(intent)
    assert [q.text for q in entry.questions] == ["where is my refund", "refund status?"]
    assert (counts.entries_added, counts.questions_added) == (1, 2)


def test_importing_again_adds_only_new_questions() -> None:
    intent = f"cancel-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        store_items(session, [_item(intent, "cancel my order")], "t")

    with session_scope() as session:
        again = store_items(session, [_item(intent, "cancel my order"), _item(intent, "stop my order")], "t")

    [entry] = _entries(intent)
    assert [q.text for q in entry.questions] == ["cancel my order", "stop my order"]
    assert (again.entries_added, again.questions_added) == (0, 1)


def test_pending_questions_get_unit_length_minilm_embeddings() -> None:
    intent = f"hours-{uuid.uuid4().hex[:6]}"
    with session_scope() as session:
        store_items(session, [_item(intent, "when are you open", "opening hours please")], "t")

    with session_scope() as session:
        embedded = embed_pending_questions(session, load_kb_encoder("cpu"), KB_ENCODER_NAME)

    assert embedded >= 2
    [entry] = _entries(intent)
    vectors = [bytes_to_vector(q.embedding) for q in entry.questions if q.embedding is not None]
    assert [q.embedding_model for q in entry.questions] == [KB_ENCODER_NAME, KB_ENCODER_NAME]
    assert [v.shape for v in vectors] == [(384,), (384,)]
    assert np.allclose([np.linalg.norm(v) for v in vectors], 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > 0.5  # two ways to ask the same thing


def test_kb_import_command_stores_and_embeds_a_folder_of_articles(tmp_path: Path) -> None:
    intent = f"gift-cards-{uuid.uuid4().hex[:6]}"
    (tmp_path / "gift-cards.md").write_text(
        f"---\nintent: {intent}\ncategory: PAYMENT\ntags: payment, gifts\n"
        "questions: can I pay with a voucher | do gift cards expire\n---\n"
        "# Can I pay with a gift card?\n\nYes: enter its code at checkout.\n",
        encoding="utf-8",
    )

    result = CliRunner().invoke(cli, ["kb", "import", str(tmp_path), "--source", "help-centre"])

    assert result.exit_code == 0, result.output
    [entry] = _entries(intent)
    assert (entry.source, entry.category, entry.tags, entry.answer) == (
        "help-centre",
        "PAYMENT",
        ["payment", "gifts"],
        "Yes: enter its code at checkout.",
    )
    assert [q.embedding_model for q in entry.questions] == [KB_ENCODER_NAME] * 3


def test_kb_import_of_a_bad_file_stores_nothing_and_says_why(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("question,answer\nhello,hi\n", encoding="utf-8")

    result = CliRunner().invoke(cli, ["kb", "import", str(bad)])

    assert result.exit_code == 2
    assert "needs a column intent" in re.sub(r"[\s│]+", " ", result.output)  # rich draws a box around it
