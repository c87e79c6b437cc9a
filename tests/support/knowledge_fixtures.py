"""The knowledge base the reply tests answer from: a slice of the demo's customer-support pairs,
imported and embedded through the real import code into the test database."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from core.settings import get_settings
from workers.knowledge.importer import DEMO_SOURCE_FILE, import_knowledge

QUESTIONS_PER_INTENT = 8
# Left out on purpose: a question of this intent has no approved answer, so it goes to generation.
INTENT_WITHOUT_ANSWERS = "delivery_options"
# Questions of the support data set that the tiny intent model places right: one with an approved
# answer, one of the intent left out.
CANCEL_QUESTION = "I want to cancel my order"
DELIVERY_QUESTION = "what delivery options do you have?"


@pytest.fixture(scope="session")
def knowledge_base(database: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    with (get_settings().data_dir / DEMO_SOURCE_FILE).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        taken: dict[str, int] = {}
        rows = []
        for row in reader:
            intent = row["intent"]
            if intent != INTENT_WITHOUT_ANSWERS and taken.get(intent, 0) < QUESTIONS_PER_INTENT:
                taken[intent] = taken.get(intent, 0) + 1
                rows.append(row)
    path = tmp_path_factory.mktemp("knowledge") / "support-slice.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    import_knowledge(path, "test-slice", "cpu")
    return path
