"""Knowledge-base source files: CSV, JSON Lines, and folders of Markdown help articles.

- CSV: a header with ``question`` (or ``instruction``), ``answer`` (or ``response``) and ``intent``;
  optional ``category`` and ``tags`` (separated by ``;``). The customer-support set's columns fit.
- JSON Lines: one object per line with ``answer``, ``intent``, and ``question`` or ``questions``
  (a list); optional ``category`` and ``tags`` (a list).
- Markdown folder: one article per ``.md`` file. The first ``# Heading`` is the question, the rest
  is the answer; an optional front matter block of ``key: value`` lines between ``---`` lines sets
  ``intent`` (required), ``category``, ``tags`` (comma-separated) and ``questions`` (more ways to
  ask, separated by ``|``).

Every problem is reported with the file and line (or row), and nothing of a bad file is kept.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CSV_COLUMNS = {
    "question": ("question", "instruction"),
    "answer": ("answer", "response"),
    "intent": ("intent",),
}
MARKDOWN_KEYS = {"intent", "category", "tags", "questions"}


class SourceError(ValueError):
    """A knowledge-base file cannot be read; the message names the file and the place."""


@dataclass(frozen=True)
class KnowledgeItem:
    """One approved answer and the ways customers ask for it."""

    intent: str
    answer: str
    questions: tuple[str, ...]
    category: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def read_source(path: Path) -> list[KnowledgeItem]:
    """Every item of a CSV file, a JSON Lines file or a folder of Markdown articles."""
    if path.is_dir():
        files = sorted(path.rglob("*.md"))
        if not files:
            raise SourceError(f"{path}: no .md files in this folder")
        return [_markdown_item(file) for file in files]
    readers = {".csv": _csv_items, ".jsonl": _jsonl_items, ".md": lambda p: [_markdown_item(p)]}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise SourceError(f"{path}: not a .csv, .jsonl or .md file, nor a folder of .md files")
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    return reader(path)


def _csv_items(path: Path) -> list[KnowledgeItem]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        columns = {}
        for name, choices in CSV_COLUMNS.items():
            found = next((choice for choice in choices if choice in header), None)
            if found is None:
                raise SourceError(f"{path}: needs a column {' or '.join(choices)}; the header is {header}")
            columns[name] = found
        items = []
        for row_number, row in enumerate(reader, start=2):
            where = f"{path}, row {row_number}"
            items.append(
                _item(
                    where,
                    intent=row[columns["intent"]],
                    answer=row[columns["answer"]],
                    questions=[row[columns["question"]]],
                    category=row.get("category"),
                    tags=[tag for tag in (row.get("tags") or "").split(";")],
                )
            )
    return items


def _jsonl_items(path: Path) -> list[KnowledgeItem]:
    items = []
    with path.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {line_number}"
            try:
                record: Any = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise SourceError(f"{where}: expected an object, got {type(record).__name__}")
            questions = record.get("questions", [record["question"]] if "question" in record else [])
            if not isinstance(questions, list):
                raise SourceError(f"{where}: 'questions' must be a list")
            tags = record.get("tags", [])
            if not isinstance(tags, list):
                raise SourceError(f"{where}: 'tags' must be a list")
            items.append(
                _item(
                    where,
                    intent=record.get("intent"),
                    answer=record.get("answer"),
                    questions=questions,
                    category=record.get("category"),
                    tags=tags,
                )
            )
    return items


def _markdown_item(path: Path) -> KnowledgeItem:
    lines = path.read_text(encoding="utf-8").splitlines()
    meta: dict[str, str] = {}
    if lines and lines[0].strip() == "---":
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
        except StopIteration:
            raise SourceError(f"{path}: the front matter opened on line 1 is never closed with ---") from None
        for number, line in enumerate(lines[1:end], start=2):
            key, sep, value = line.partition(":")
            key = key.strip().lower()
            if not sep or key not in MARKDOWN_KEYS:
                raise SourceError(
                    f"{path}, line {number}: expected one of {sorted(MARKDOWN_KEYS)} as 'key: value'"
                )
            meta[key] = value.strip()
        lines = lines[end + 1 :]
    heading = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if heading is None:
        raise SourceError(f"{path}: no '# ' heading to use as the question")
    more = [q for q in meta.get("questions", "").split("|")]
    return _item(
        str(path),
        intent=meta.get("intent"),
        answer="\n".join(lines[heading + 1 :]),
        questions=[lines[heading][2:], *more],
        category=meta.get("category"),
        tags=meta.get("tags", "").split(","),
    )


def _item(
    where: str, *, intent: Any, answer: Any, questions: list[Any], category: Any, tags: list[Any]
) -> KnowledgeItem:
    try:
        return _checked_item(where, intent, answer, questions, category, tags)
    except SourceError as exc:
        if str(exc).startswith(where):
            raise
        raise SourceError(f"{where}: {exc}") from None


def _checked_item(
    where: str, intent: Any, answer: Any, questions: list[Any], category: Any, tags: list[Any]
) -> KnowledgeItem:
    intent, answer = _text(intent), _text(answer)
    if not intent:
        raise SourceError(f"{where}: no intent")
    if not answer:
        raise SourceError(f"{where}: no answer")
    cleaned = tuple(dict.fromkeys(q for q in (_text(q) for q in questions) if q))
    if not cleaned:
        raise SourceError(f"{where}: no question")
    return KnowledgeItem(
        intent=intent,
        answer=answer,
        questions=cleaned,
        category=_text(category) or None,
        tags=tuple(dict.fromkeys(t for t in (_text(t) for t in tags) if t)),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SourceError(f"expected text, got {type(value).__name__}: {value!r}")
    return value.strip()
